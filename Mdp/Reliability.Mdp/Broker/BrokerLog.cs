using Microsoft.Extensions.Logging;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;

namespace Reliability.Mdp.Broker;

/// <summary>Majordomo broker log messages. Event ids 3000-3199 belong to the broker.</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Majordomo broker listening on {Endpoint}")]
    public static partial void Listening(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Majordomo broker running: heartbeat {HeartbeatMs} ms, liveness {Liveness}, request expiry {RequestExpiryMs} ms, max requeues {MaxRequeues}")]
    public static partial void Started(ILogger logger, double heartbeatMs, int liveness, double requestExpiryMs, int maxRequeues);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Majordomo broker stopping: DISCONNECT to {Workers} worker(s), {Queued} queued request(s) dropped")]
    public static partial void Stopping(ILogger logger, int workers, int queued);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Majordomo broker stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Majordomo broker loop failed on a message; it keeps serving")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Worker {WorkerId} ({Version}) registered for service '{Service}' ({Workers} worker(s) now)")]
    public static partial void WorkerRegistered(ILogger logger, RoutingKey workerId, MdpVersion version, string service, int workers);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Worker {WorkerId} of service '{Service}' expired while {State}: silent for {ExpiryMs} ms")]
    public static partial void WorkerExpired(ILogger logger, RoutingKey workerId, string service, WorkerState state, double expiryMs);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Worker {WorkerId} of service '{Service}' disconnected while {State}")]
    public static partial void WorkerDisconnected(ILogger logger, RoutingKey workerId, string service, WorkerState state);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Worker {WorkerId} of service '{Service}' is unreachable (connection gone or queue full) while {State}; removed")]
    public static partial void WorkerUnreachable(ILogger logger, RoutingKey workerId, string service, WorkerState state);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Warning, Message = "Worker {WorkerId} of service '{Service}' lost its connection while {State}; removed")]
    public static partial void WorkerConnectionLost(ILogger logger, RoutingKey workerId, string service, WorkerState state);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning, Message = "Worker {WorkerId} of service '{Service}' sent {Command} while {State}: protocol violation, DISCONNECT sent")]
    public static partial void WorkerViolation(ILogger logger, RoutingKey workerId, string service, string command, WorkerState state);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "READY from {WorkerId} for service '{Service}' refused: {Reason}; DISCONNECT sent")]
    public static partial void ReadyRefused(ILogger logger, RoutingKey workerId, string service, string reason);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Information, Message = "{Command} from unknown worker {WorkerId} ({Version}): DISCONNECT sent so that it registers again")]
    public static partial void UnknownWorker(ILogger logger, CommandLabel command, RoutingKey workerId, MdpVersion version);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Request of client {ClientId} for '{Service}' requeued ({Requeues} of at most {MaxRequeues}) after its worker was lost")]
    public static partial void RequestRequeued(ILogger logger, RoutingKey clientId, string service, int requeues, int maxRequeues);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "Request of client {ClientId} for '{Service}' dropped: its worker was lost and it was already requeued {Requeues} time(s)")]
    public static partial void RequeueLimitReached(ILogger logger, RoutingKey clientId, string service, int requeues);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning, Message = "{Count} request(s) for '{Service}' expired after waiting {ExpiryMs} ms for a worker")]
    public static partial void RequestsExpired(ILogger logger, int count, string service, double expiryMs);

    [LoggerMessage(EventId = 3025, Level = LogLevel.Information, Message = "{Count} queued request(s) of client {ClientId} for '{Service}' dropped: its connection ended")]
    public static partial void ClientRequestsDropped(ILogger logger, int count, RoutingKey clientId, string service);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Warning, Message = "Request of client {ClientId} for '{Service}' dropped: {Reason}")]
    public static partial void RequestRefused(ILogger logger, RoutingKey clientId, string service, string reason);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Debug, Message = "Reply for client {ClientId} from '{Service}' dropped: {Reason}")]
    public static partial void ReplyDropped(ILogger logger, RoutingKey clientId, string service, string reason);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Warning, Message = "Invalid message from {PeerId} dropped: {Error}")]
    public static partial void InvalidMessage(ILogger logger, RoutingKey peerId, string error);

    [LoggerMessage(EventId = 3034, Level = LogLevel.Warning, Message = "{Count} more invalid message(s) dropped without a log line (at most {PerSecond} are logged per second; the invalid-message metric counts them all)")]
    public static partial void InvalidMessagesSuppressed(ILogger logger, long count, int perSecond);

    [LoggerMessage(EventId = 3035, Level = LogLevel.Warning, Message = "{Count} more request(s) dropped in the last {WindowSeconds} s without a log line: {Reason} (at most {PerWindow} lines per window; the requests.dropped metric counts them all)")]
    public static partial void DropsSummarised(ILogger logger, long count, double windowSeconds, string reason, int perWindow);

    [LoggerMessage(EventId = 3036, Level = LogLevel.Warning, Message = "{Count} more line(s) about peers in the last {WindowSeconds} s without a log line: {Reason} (at most {PerWindow} such lines per window; the metrics count every event)")]
    public static partial void PeerLinesSummarised(ILogger logger, long count, double windowSeconds, string reason, int perWindow);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Debug, Message = "Service '{Service}' created")]
    public static partial void ServiceCreated(ILogger logger, string service);

    [LoggerMessage(EventId = 3032, Level = LogLevel.Debug, Message = "Service '{Service}' forgotten (no workers, no queued requests)")]
    public static partial void ServiceForgotten(ILogger logger, string service);

    [LoggerMessage(EventId = 3033, Level = LogLevel.Debug, Message = "MMI {Service} from client {ClientId} answered {Status}")]
    public static partial void MmiAnswered(ILogger logger, string service, RoutingKey clientId, string status);
}

/// <summary>A command's name (READY, HEARTBEAT, ...) in logs, formatted only when the message is written.</summary>
internal readonly record struct CommandLabel(MdpCommand Command)
{
    public override string ToString() => BrokerCore.CommandName(Command);
}
