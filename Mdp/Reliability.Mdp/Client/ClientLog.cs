using Microsoft.Extensions.Logging;

namespace Reliability.Mdp.Client;

/// <summary>Majordomo client log messages (event ids 3300-3399).</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Debug, Message = "Opened {SocketType} socket #{SocketId} to broker {Endpoint}")]
    public static partial void SocketOpened(ILogger logger, string socketType, long socketId, string endpoint);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Request {RequestId} to '{Service}': no reply to attempt {Attempt}; socket #{SocketId} closed (linger 0)")]
    public static partial void AttemptAbandoned(ILogger logger, long requestId, string service, int attempt, long socketId);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Request {RequestId} to '{Service}': retrying (attempt {Attempt}) on a fresh socket")]
    public static partial void Retrying(ILogger logger, long requestId, string service, int attempt);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Error, Message = "Request {RequestId} to '{Service}' abandoned after {Attempts} attempt(s) at {Endpoint}")]
    public static partial void Abandoned(ILogger logger, long requestId, string service, int attempts, string endpoint, Exception exception);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Warning, Message = "Dropped a message from broker {Endpoint} on socket #{SocketId}: {Problem}")]
    public static partial void InvalidReply(ILogger logger, string endpoint, long socketId, string problem);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Information, Message = "Late reply from '{Service}' on connection #{SocketId} dropped: its request had timed out")]
    public static partial void LateReply(ILogger logger, string service, long socketId);

    [LoggerMessage(EventId = 3306, Level = LogLevel.Warning, Message = "Request {RequestId} to '{Service}' timed out after {Timeout} ms ({State}); connection #{SocketId} will be replaced once its other requests are done")]
    public static partial void RequestTimedOut(ILogger logger, long requestId, string service, double timeout, string state, long socketId);

    [LoggerMessage(EventId = 3307, Level = LogLevel.Debug, Message = "Connection #{SocketId} to {Endpoint} retired (it had a timed-out request)")]
    public static partial void ConnectionRetired(ILogger logger, long socketId, string endpoint);

    [LoggerMessage(EventId = 3308, Level = LogLevel.Warning, Message = "Request {RequestId} to '{Service}' failed on attempt {Attempt} on socket #{SocketId}")]
    public static partial void AttemptFailed(ILogger logger, long requestId, string service, int attempt, long socketId, Exception exception);

    [LoggerMessage(EventId = 3309, Level = LogLevel.Warning, Message = "Request {RequestId} to '{Service}': no reply within {Timeout} ms on connection #{SocketId}; resending (attempt {Attempt}) in {DelayMs} ms")]
    public static partial void Resending(ILogger logger, long requestId, string service, double timeout, long socketId, int attempt, double delayMs);

    [LoggerMessage(EventId = 3310, Level = LogLevel.Warning, Message = "Failing over from broker {From} to {To}: new requests go to {To}")]
    public static partial void FailingOver(ILogger logger, string from, string to);
}
