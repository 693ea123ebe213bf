using Microsoft.Extensions.Logging;

namespace Reliability.Transport.Internal;

/// <summary>Transport log messages. Event ids 1000-1099 belong to this assembly.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "{SocketType} socket listening on {Endpoint}")]
    public static partial void Listening(ILogger logger, SocketType socketType, string endpoint);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "{SocketType} connected to {Endpoint} (handshake done, peer {PeerType})")]
    public static partial void HandshakeSucceeded(ILogger logger, SocketType socketType, string endpoint, string peerType);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{SocketType} protocol error from {Endpoint}: {Error} ({Reason}); connection closed")]
    public static partial void ProtocolViolation(ILogger logger, SocketType socketType, string endpoint, ProtocolError error, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "{SocketType} connection to {Endpoint} ended: {Reason}")]
    public static partial void ConnectionEnded(ILogger logger, SocketType socketType, string endpoint, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "{SocketType} connect to {Endpoint} failed ({Reason}); retrying in {DelayMs} ms")]
    public static partial void ConnectRetry(ILogger logger, SocketType socketType, string endpoint, string reason, long delayMs);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "{SocketType} stops reconnecting to {Endpoint} after a protocol error")]
    public static partial void ReconnectAbandoned(ILogger logger, SocketType socketType, string endpoint);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "{SocketType} dropped a message: {Reason}")]
    public static partial void MessageDropped(ILogger logger, SocketType socketType, string reason);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "{SocketType} accept on {Endpoint} failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, SocketType socketType, string endpoint, string reason);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "{SocketType} closed with {Pending} unsent message(s) after linger")]
    public static partial void LingerExpired(ILogger logger, SocketType socketType, int pending);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Error, Message = "The authenticator of a {SocketType} socket threw for {Endpoint}; the peer is refused")]
    public static partial void AuthenticatorFailed(ILogger logger, SocketType socketType, string endpoint, Exception exception);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "{SocketType} handshake with {Endpoint} failed: {Reason}")]
    public static partial void HandshakeAbandoned(ILogger logger, SocketType socketType, string endpoint, string reason);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Debug, Message = "{SocketType} protocol error from {Endpoint} again: {Error} ({Reason}); connection closed")]
    public static partial void ProtocolViolationRepeated(ILogger logger, SocketType socketType, string endpoint, ProtocolError error, string reason);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Error, Message = "An event handler of a {SocketType} socket threw")]
    public static partial void EventHandlerFailed(ILogger logger, SocketType socketType, Exception exception);
}
