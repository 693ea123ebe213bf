using Reliability.Patterns.Heartbeating;
using Microsoft.Extensions.Logging;
using Reliability.Patterns.ParanoidPirate;

namespace Reliability.Patterns.SimplePirate;

/// <summary>Simple Pirate log messages: event ids 2050-2079 (queue) and 2080-2099 (worker).</summary>
internal static partial class SimplePirateLog
{
    [LoggerMessage(EventId = 2050, Level = LogLevel.Information, Message = "Simple Pirate queue: clients on {Frontend}, workers on {Backend}")]
    public static partial void QueueStarted(ILogger logger, string frontend, string backend);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Information, Message = "Worker {Worker} is ready ({Workers} worker(s) known)")]
    public static partial void WorkerRegistered(ILogger logger, RoutingKey worker, int workers);

    [LoggerMessage(EventId = 2052, Level = LogLevel.Warning, Message = "Worker {Worker} is unreachable (connection gone); removed")]
    public static partial void WorkerUnreachable(ILogger logger, RoutingKey worker);

    [LoggerMessage(EventId = 2053, Level = LogLevel.Warning, Message = "Ignored a message from worker {Worker}: {Problem}")]
    public static partial void InvalidWorkerMessage(ILogger logger, RoutingKey worker, string problem);

    [LoggerMessage(EventId = 2054, Level = LogLevel.Warning, Message = "Ignored a request from client {Client}: {Frames} frame(s) without 'empty delimiter, body'")]
    public static partial void InvalidClientRequest(ILogger logger, RoutingKey client, int frames);

    [LoggerMessage(EventId = 2055, Level = LogLevel.Debug, Message = "Dropped a reply for client {Client}: {Reason}")]
    public static partial void ReplyDropped(ILogger logger, RoutingKey client, string reason);

    [LoggerMessage(EventId = 2056, Level = LogLevel.Debug, Message = "Request from client {Client} sent to worker {Worker}")]
    public static partial void RequestDispatched(ILogger logger, RoutingKey client, RoutingKey worker);

    [LoggerMessage(EventId = 2057, Level = LogLevel.Information, Message = "Simple Pirate queue stopped ({Workers} worker(s) known)")]
    public static partial void QueueStopped(ILogger logger, int workers);

    [LoggerMessage(EventId = 2058, Level = LogLevel.Error, Message = "Simple Pirate queue: an input could not be handled; the queue goes on")]
    public static partial void QueueInputFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2080, Level = LogLevel.Information, Message = "Worker {Worker} connecting to {Endpoint}")]
    public static partial void WorkerConnecting(ILogger logger, RoutingKey worker, string endpoint);

    [LoggerMessage(EventId = 2081, Level = LogLevel.Error, Message = "Worker {Worker}: the request handler failed; reconnecting on a fresh socket (the client's retry recovers the request)")]
    public static partial void HandlerFailed(ILogger logger, RoutingKey worker, Exception exception);

    [LoggerMessage(EventId = 2082, Level = LogLevel.Warning, Message = "Worker {Worker} ignored a malformed request ({Frames} frame(s)); reconnecting on a fresh socket")]
    public static partial void InvalidRequest(ILogger logger, RoutingKey worker, int frames);

    [LoggerMessage(EventId = 2083, Level = LogLevel.Information, Message = "Simple Pirate worker stopped after {Replies} repl(ies)")]
    public static partial void WorkerStopped(ILogger logger, long replies);
}
