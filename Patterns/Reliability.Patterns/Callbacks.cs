using Microsoft.Extensions.Logging;

namespace Reliability.Patterns;

/// <summary>Passed to an <c>OnRetry</c> callback: a request got no usable reply in time and is sent again on a fresh socket.</summary>
/// <param name="RequestId">The client's number for the request, as its log lines show it.</param>
/// <param name="Attempt">The attempt about to start: 2 for the first retry.</param>
/// <param name="Target">Where the request goes: the server endpoints (Lazy Pirate) or the service name (Majordomo).</param>
public readonly record struct RetryArguments(long RequestId, int Attempt, string Target);

/// <summary>
/// Passed to an <c>OnPeerLost</c> callback: a worker gave its broker or queue up and registers again on a
/// fresh socket after <paramref name="ReconnectIn"/>.
/// </summary>
/// <param name="Endpoint">The broker's or queue's endpoint.</param>
/// <param name="Reason">
/// <c>silent</c> (no traffic within the liveness), <c>disconnected</c> (the broker sent DISCONNECT) or
/// <c>connection_lost</c> (the connection ended).
/// </param>
/// <param name="ReconnectIn">The wait before the fresh socket connects.</param>
public readonly record struct PeerLostArguments(string Endpoint, string Reason, TimeSpan ReconnectIn);

/// <summary>Passed to an <c>OnWorkerExpired</c> callback: a broker or queue removed a worker that did not say goodbye.</summary>
/// <param name="WorkerId">The worker's routing id (its identity, or the id its ROUTER generated).</param>
/// <param name="Service">The service it served (Majordomo); null for a Pirate queue, whose workers have none.</param>
/// <param name="Reason">
/// <c>expired</c> (silent past its liveness), <c>unreachable</c> (a send found it gone),
/// <c>connection_lost</c> (its connection ended) or <c>violation</c> (it broke the protocol).
/// </param>
public readonly record struct WorkerExpiredArguments(ReadOnlyMemory<byte> WorkerId, string? Service, string Reason);

/// <summary>Runs the callbacks users hook into options, so a broken hook never breaks the loop that calls it.</summary>
internal static partial class Callback
{
    /// <summary>Calls <paramref name="callback"/> if set; an exception it throws is logged and swallowed.</summary>
    public static void Invoke<T>(Action<T>? callback, T arguments, ILogger logger, string name)
    {
        if (callback is null)
        {
            return;
        }

        try
        {
            callback(arguments);
        }
        catch (Exception ex)
        {
            Failed(logger, name, ex);
        }
    }

    [LoggerMessage(EventId = 2190, Level = LogLevel.Error, Message = "The {Callback} callback threw; the exception is ignored")]
    private static partial void Failed(ILogger logger, string callback, Exception exception);
}
