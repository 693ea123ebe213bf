using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// A Lazy Pirate request was abandoned: the resilience pipeline gave up (by default, no reply
/// arrived within the request timeout on any of the allowed attempts). Like the zguide's
/// "server seems to be offline, abandoning", this is the only failure signal the caller gets;
/// whether the server processed the request is unknown. <see cref="Exception.InnerException"/>
/// is the pipeline's last failure (e.g. a <c>TimeoutRejectedException</c> or <c>BrokenCircuitException</c>).
/// </summary>
public sealed class RequestFailedException : ReliabilityException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="attempts">How many attempts were made (0 when the pipeline refused at once, e.g. an open circuit).</param>
    /// <param name="endpoints">The servers the request went to.</param>
    /// <param name="innerException">The pipeline's last failure.</param>
    public RequestFailedException(int attempts, IReadOnlyList<string> endpoints, Exception? innerException)
        : base(BuildMessage(attempts, endpoints, innerException), innerException)
    {
        Attempts = attempts;
        Endpoints = endpoints ?? [];
    }

    /// <summary>How many attempts were made before giving up.</summary>
    public int Attempts { get; }

    /// <summary>The servers the request went to.</summary>
    public IReadOnlyList<string> Endpoints { get; }

    private static string BuildMessage(int attempts, IReadOnlyList<string>? endpoints, Exception? inner)
    {
        string servers = endpoints is null || endpoints.Count == 0 ? "the server" : string.Join(", ", endpoints);
        string reason = inner is null ? string.Empty : $" ({inner.GetType().Name}: {inner.Message})";
        return $"Request abandoned after {attempts} attempt(s): no reply from {servers}{reason}.";
    }
}
