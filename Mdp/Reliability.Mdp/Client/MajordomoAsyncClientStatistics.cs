namespace Reliability.Mdp.Client;

/// <summary>Counts of one <see cref="MajordomoAsyncClient"/> since it was created.</summary>
/// <param name="Requests">Requests started.</param>
/// <param name="Succeeded">Requests completed by their reply.</param>
/// <param name="TimedOut">Requests failed by their timeout (<see cref="MdpRequestFailedException"/>).</param>
/// <param name="Cancelled">Requests ended by the caller's cancellation token.</param>
/// <param name="LateReplies">Replies that arrived after their request had timed out; dropped.</param>
/// <param name="InvalidReplies">Messages that were not a valid reply of the client's version, or answered no request in flight.</param>
/// <param name="ConnectionsOpened">DEALER connections opened; a connection is replaced after one of its requests timed out.</param>
/// <param name="ConnectionsOpen">DEALER connections open now.</param>
public readonly record struct MajordomoAsyncClientStatistics(
    long Requests,
    long Succeeded,
    long TimedOut,
    long Cancelled,
    long LateReplies,
    long InvalidReplies,
    long ConnectionsOpened,
    int ConnectionsOpen)
{
    /// <summary>Resends of requests whose attempt timed out (<see cref="MajordomoAsyncClientOptions.Retries"/>).</summary>
    public long Retries { get; init; }
}
