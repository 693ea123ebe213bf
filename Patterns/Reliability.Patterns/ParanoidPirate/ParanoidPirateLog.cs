using Reliability.Patterns.Heartbeating;
using Microsoft.Extensions.Logging;
using Reliability.Patterns.Queueing;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>Paranoid Pirate log messages: event ids 2100-2149 (queue) and 2150-2199 (worker).</summary>
internal static partial class ParanoidPirateLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Paranoid Pirate queue: clients on {Frontend}, workers on {Backend}, heartbeat {IntervalMs} ms x {Liveness}")]
    public static partial void QueueStarted(ILogger logger, string frontend, string backend, double intervalMs, int liveness);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Worker {Worker} is ready ({Workers} worker(s))")]
    public static partial void WorkerRegistered(ILogger logger, RoutingKey worker, int workers);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Worker {Worker} expired while {State}: no message for {ExpiryMs} ms")]
    public static partial void WorkerExpired(ILogger logger, RoutingKey worker, WorkerState state, double expiryMs);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Worker {Worker} is unreachable (connection gone) while {State}; removed")]
    public static partial void WorkerUnreachable(ILogger logger, RoutingKey worker, WorkerState state);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Worker {Worker} said READY while busy: it restarted or gave up its request")]
    public static partial void WorkerReadyWhileBusy(ILogger logger, RoutingKey worker);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Information, Message = "Request from client {Client} lost with worker {Worker}; requeued for the next free worker")]
    public static partial void RequestRequeued(ILogger logger, RoutingKey client, RoutingKey worker);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Request from client {Client} lost with worker {Worker} and dropped ({Reason}); the client's retry recovers it")]
    public static partial void RequestAbandoned(ILogger logger, RoutingKey client, RoutingKey worker, LostRequestFate reason);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "Ignored a message from worker {Worker}: {Problem}")]
    public static partial void InvalidWorkerMessage(ILogger logger, RoutingKey worker, string problem);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Debug, Message = "Ignored a heartbeat from unknown worker {Worker} (it must send READY first; it will reconnect when it hears nothing)")]
    public static partial void UnknownWorkerHeartbeat(ILogger logger, RoutingKey worker);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning, Message = "Dropped a reply from worker {Worker}: {Outcome}")]
    public static partial void UnexpectedReply(ILogger logger, RoutingKey worker, ReplyOutcome outcome);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "Ignored a request from client {Client}: {Frames} frame(s) without 'empty delimiter, body'")]
    public static partial void InvalidClientRequest(ILogger logger, RoutingKey client, int frames);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Debug, Message = "Dropped a reply for client {Client}: {Reason}")]
    public static partial void ReplyDropped(ILogger logger, RoutingKey client, string reason);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Debug, Message = "Request from client {Client} sent to worker {Worker}")]
    public static partial void RequestDispatched(ILogger logger, RoutingKey client, RoutingKey worker);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Information, Message = "Paranoid Pirate queue stopped ({Workers} worker(s) known)")]
    public static partial void QueueStopped(ILogger logger, int workers);

    [LoggerMessage(EventId = 2116, Level = LogLevel.Error, Message = "Paranoid Pirate queue: an input could not be handled; the queue goes on")]
    public static partial void QueueInputFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "Requeued request from client {Client} dropped ({Reason}): it waited longer than the requeue age limit for a free worker, or its client is gone")]
    public static partial void RequeuedRequestDropped(ILogger logger, RoutingKey client, string reason);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Warning, Message = "Paranoid Pirate {Component} loop was paused for {PauseMs} ms; expiry deferred for one interval so that its own pause is not blamed on its peers")]
    public static partial void LoopPaused(ILogger logger, string component, double pauseMs);

    [LoggerMessage(EventId = 2150, Level = LogLevel.Information, Message = "Worker {Worker} connecting to {Endpoint}")]
    public static partial void WorkerConnecting(ILogger logger, RoutingKey worker, string endpoint);

    [LoggerMessage(EventId = 2151, Level = LogLevel.Warning, Message = "Worker {Worker}: queue at {Endpoint} silent for {ExpiryMs} ms; dropping the connection")]
    public static partial void QueueSilent(ILogger logger, RoutingKey worker, string endpoint, double expiryMs);

    [LoggerMessage(EventId = 2159, Level = LogLevel.Warning, Message = "Worker {Worker}: the connection to the queue at {Endpoint} ended; starting afresh")]
    public static partial void QueueConnectionLost(ILogger logger, RoutingKey worker, string endpoint);

    [LoggerMessage(EventId = 2152, Level = LogLevel.Information, Message = "Reconnecting to {Endpoint} in {DelayMs} ms (attempt {Attempt})")]
    public static partial void Reconnecting(ILogger logger, string endpoint, double delayMs, int attempt);

    [LoggerMessage(EventId = 2153, Level = LogLevel.Error, Message = "Worker {Worker}: the request handler failed; the request is given back to the queue with READY")]
    public static partial void HandlerFailed(ILogger logger, RoutingKey worker, Exception exception);

    [LoggerMessage(EventId = 2154, Level = LogLevel.Warning, Message = "Worker {Worker} ignored a message from the queue: {Problem}")]
    public static partial void InvalidQueueMessage(ILogger logger, RoutingKey worker, string problem);

    [LoggerMessage(EventId = 2155, Level = LogLevel.Warning, Message = "Worker {Worker} dropped a request: busy with {Queued} request(s) already waiting")]
    public static partial void RequestDroppedBusy(ILogger logger, RoutingKey worker, int queued);

    [LoggerMessage(EventId = 2156, Level = LogLevel.Information, Message = "Paranoid Pirate worker stopped after {Replies} repl(ies)")]
    public static partial void WorkerStopped(ILogger logger, long replies);

    [LoggerMessage(EventId = 2158, Level = LogLevel.Warning, Message = "Worker {Worker}: the connection to {Endpoint} failed with a protocol error; starting afresh")]
    public static partial void HandshakeFailed(ILogger logger, RoutingKey worker, string endpoint);

    [LoggerMessage(EventId = 2157, Level = LogLevel.Warning, Message = "Worker {Worker} could not send to the queue ({What}): its queue is full")]
    public static partial void WorkerSendFailed(ILogger logger, RoutingKey worker, string what);
}
