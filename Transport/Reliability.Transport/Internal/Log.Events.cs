using Microsoft.Extensions.Logging;

namespace Reliability.Transport.Internal;

/// <summary>Endpoint lifecycle log messages (event ids 1050-1059 of the transport's range).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1050, Level = LogLevel.Warning, Message = "{SocketType} could not close {Endpoint} cleanly: {Reason}")]
    public static partial void CloseFailed(ILogger logger, SocketType socketType, string endpoint, string reason);
}
