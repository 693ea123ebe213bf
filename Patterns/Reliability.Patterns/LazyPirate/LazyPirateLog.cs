using Microsoft.Extensions.Logging;

namespace Reliability.Patterns.LazyPirate;

/// <summary>Lazy Pirate log messages (event ids 2000-2049).</summary>
internal static partial class LazyPirateLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Debug, Message = "Opened REQ socket #{SocketId} to {Endpoints}")]
    public static partial void SocketOpened(ILogger logger, long socketId, string endpoints);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Request {RequestId}: no reply to attempt {Attempt} on socket #{SocketId}; socket closed (linger 0)")]
    public static partial void AttemptAbandoned(ILogger logger, long requestId, int attempt, long socketId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Request {RequestId}: retrying (attempt {Attempt}) on a fresh socket to {Endpoints}")]
    public static partial void Retrying(ILogger logger, long requestId, int attempt, string endpoints);

    // Warning without the exception attached: the caller receives it (RequestFailedException) and decides how loud it is.
    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Request {RequestId} abandoned after {Attempts} attempt(s) to {Endpoints}: {Reason}")]
    public static partial void RequestAbandoned(ILogger logger, long requestId, int attempts, string endpoints, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Request {RequestId} cancelled by the caller after {Attempts} attempt(s)")]
    public static partial void RequestCancelled(ILogger logger, long requestId, int attempts);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Debug, Message = "Request {RequestId} answered on attempt {Attempt}")]
    public static partial void RequestAnswered(ILogger logger, long requestId, int attempt);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Request {RequestId}: attempt {Attempt} failed on socket #{SocketId}; socket closed")]
    public static partial void AttemptFailed(ILogger logger, long requestId, int attempt, long socketId, Exception error);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Lazy Pirate client for {Endpoints} disposed; {Sockets} socket(s) closed")]
    public static partial void Disposed(ILogger logger, string endpoints, int sockets);
}
