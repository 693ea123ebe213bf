using Microsoft.Extensions.Logging;

namespace Reliability.Mdp.Worker;

/// <summary>Majordomo worker log messages (event ids 3200-3299).</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Worker for '{Service}' connecting to {Endpoint} (MDP/{Version}), connection #{Connection}")]
    public static partial void Connecting(ILogger logger, string service, string endpoint, string version, long connection);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Worker for '{Service}': broker at {Endpoint} silent for {Silence} ms, reconnecting on a fresh socket in {Delay} ms")]
    public static partial void BrokerSilent(ILogger logger, string service, string endpoint, double silence, double delay);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Worker for '{Service}': DISCONNECT from broker at {Endpoint}, re-registering on a fresh socket in {Delay} ms")]
    public static partial void BrokerDisconnected(ILogger logger, string service, string endpoint, double delay);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Error, Message = "Worker for '{Service}': handler failed ({Action}: FailureReply answers the client with a failure reply, Requeue sends DISCONNECT so the broker requeues the request)")]
    public static partial void HandlerFailed(ILogger logger, string service, HandlerFailureAction action, Exception exception);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Worker for '{Service}': dropped an invalid message from the broker: {Problem}")]
    public static partial void InvalidMessage(ILogger logger, string service, string problem);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Warning, Message = "Worker for '{Service}': reply to a request from connection #{RequestConnection} dropped, the worker is now on connection #{Connection} (the broker no longer expects it)")]
    public static partial void StaleReply(ILogger logger, string service, long requestConnection, long connection);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Information, Message = "Worker for '{Service}' stopped: DISCONNECT sent to {Endpoint}")]
    public static partial void Stopped(ILogger logger, string service, string endpoint);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Debug, Message = "Worker for '{Service}': request on connection #{Connection} ({Frames} body frame(s))")]
    public static partial void RequestReceived(ILogger logger, string service, long connection, int frames);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Warning, Message = "Worker for '{Service}': could not queue {Command} to the broker within {Timeout} ms (outbound queue full); dropped")]
    public static partial void SendDropped(ILogger logger, string service, string command, double timeout);

    [LoggerMessage(EventId = 3209, Level = LogLevel.Critical, Message = "Worker for '{Service}': connection loop failed")]
    public static partial void LoopFailed(ILogger logger, string service, Exception exception);

    [LoggerMessage(EventId = 3211, Level = LogLevel.Warning, Message = "Worker for '{Service}': connection to the broker at {Endpoint} lost, re-registering on a fresh socket in {Delay} ms")]
    public static partial void ConnectionLost(ILogger logger, string service, string endpoint, double delay);

    [LoggerMessage(EventId = 3210, Level = LogLevel.Debug, Message = "Worker for '{Service}': stale request from connection #{RequestConnection} skipped (now on #{Connection})")]
    public static partial void StaleRequest(ILogger logger, string service, long requestConnection, long connection);
}
