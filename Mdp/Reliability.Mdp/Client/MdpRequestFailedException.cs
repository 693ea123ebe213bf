using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// A Majordomo request was given up: it got no (valid) reply — the synchronous client's retry policy was
/// exhausted, or the asynchronous client's per-request timeout elapsed — or the worker's handler failed and
/// answered with a failure reply (<see cref="Failure"/> tells which). After no reply, whether a worker processed
/// the request is unknown (MDP assumes idempotent workers). <see cref="Exception.InnerException"/> is the last
/// underlying failure, e.g. the last attempt's <see cref="TimeoutException"/>.
/// </summary>
public sealed class MdpRequestFailedException : ReliabilityException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="service">The service the request was for.</param>
    /// <param name="attempts">How many times the request was sent (0 when it was never sent).</param>
    /// <param name="endpoint">The broker.</param>
    /// <param name="reason">Why it was given up, as a sentence fragment ("no reply within 2500 ms").</param>
    /// <param name="innerException">The last underlying failure, if any.</param>
    public MdpRequestFailedException(string service, int attempts, string endpoint, string reason, Exception? innerException = null)
        : base($"Request to service '{service}' at {endpoint} abandoned after {attempts} attempt(s): {reason}.", innerException)
    {
        Service = service;
        Attempts = attempts;
        Endpoint = endpoint;
    }

    /// <summary>The kind of failure: no reply (the default), an invalid reply, or a handler that failed.</summary>
    public MdpFailure Failure { get; init; }

    /// <summary>The service the request was for.</summary>
    public string Service { get; }

    /// <summary>How many times the request was sent (0 when it timed out before it could be sent).</summary>
    public int Attempts { get; }

    /// <summary>The broker the request went to.</summary>
    public string Endpoint { get; }
}
