namespace Reliability.Patterns.LazyPirate;

/// <summary>Counts of one <see cref="LazyPirateClient"/> since it was created.</summary>
/// <param name="Requests">Requests started (calls of <c>RequestAsync</c>/<c>Request</c> that were started).</param>
/// <param name="Succeeded">Requests that returned a reply.</param>
/// <param name="Retries">Attempts after the first one of their request (retries after a timeout).</param>
/// <param name="Abandoned">Requests that ended with <see cref="RequestFailedException"/>.</param>
/// <param name="Cancelled">Requests ended by the caller's cancellation token.</param>
/// <param name="SocketsOpened">REQ sockets created; more than one per timed-out attempt means the server was unreachable or slow.</param>
public readonly record struct LazyPirateStatistics(long Requests, long Succeeded, long Retries, long Abandoned, long Cancelled, long SocketsOpened);
