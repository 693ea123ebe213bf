namespace Reliability.Mdp.Client;

/// <summary>Counts of one <see cref="MajordomoClient"/> since it was created.</summary>
/// <param name="Requests">Requests started.</param>
/// <param name="Succeeded">Requests that returned a reply.</param>
/// <param name="Retries">Resends (attempts after the first of their request), each on a fresh socket.</param>
/// <param name="Abandoned">Requests that ended with <see cref="MdpRequestFailedException"/> because the pipeline gave up.</param>
/// <param name="Cancelled">Requests ended by the caller's cancellation token.</param>
/// <param name="SocketsOpened">Sockets created; one more than the first for every timed-out attempt.</param>
/// <param name="InvalidReplies">Messages from the broker that were not a valid reply to the request in flight.</param>
public readonly record struct MajordomoClientStatistics(
    long Requests,
    long Succeeded,
    long Retries,
    long Abandoned,
    long Cancelled,
    long SocketsOpened,
    long InvalidReplies);
