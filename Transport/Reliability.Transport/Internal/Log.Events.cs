using Microsoft.Extensions.Logging;

namespace Reliability.Transport.Internal;

/// <summary>Endpoint lifecycle log messages (event ids 1050-1059 of the transport's range).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1050, Level = LogLevel.Warning, Message = "{SocketType} could not close {Endpoint} cleanly: {Reason}")]
    public static partial void CloseFailed(ILogger logger, SocketType socketType, string endpoint, string reason);

    [LoggerMessage(EventId = 1051, Level = LogLevel.Warning, Message = "{SocketType} on {Endpoint} refused a connection from {Peer}: {Reason} (logged once a minute per host; the connections.refused metric counts every one)")]
    public static partial void ConnectionRefused(ILogger logger, SocketType socketType, string endpoint, string peer, string reason);

    [LoggerMessage(EventId = 1052, Level = LogLevel.Debug, Message = "{SocketType} on {Endpoint} refused a connection from {Peer}: {Reason}")]
    public static partial void ConnectionRefusedRepeated(ILogger logger, SocketType socketType, string endpoint, string peer, string reason);
}
