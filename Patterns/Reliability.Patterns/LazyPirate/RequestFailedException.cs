using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// A Lazy Pirate request was abandoned: no reply arrived within the request timeout on any of the
/// allowed attempts. Like the zguide's
/// "server seems to be offline, abandoning", this is the only failure signal the caller gets;
/// whether the server processed the request is unknown. <see cref="Exception.InnerException"/>
/// is the last attempt's <see cref="TimeoutException"/>.
/// </summary>
public sealed class RequestFailedException : ReliabilityException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="attempts">How many attempts were made.</param>
    /// <param name="endpoints">The servers the request went to.</param>
    /// <param name="innerException">The last attempt's failure.</param>
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
