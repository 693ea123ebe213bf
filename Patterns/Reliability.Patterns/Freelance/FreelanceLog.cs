using Microsoft.Extensions.Logging;

namespace Reliability.Patterns.Freelance;

/// <summary>Freelance log messages (event ids 2270-2299).</summary>
internal static partial class FreelanceLog
{
    [LoggerMessage(EventId = 2270, Level = LogLevel.Information, Message = "Freelance server {Endpoint} is alive")]
    public static partial void ServerAlive(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 2271, Level = LogLevel.Warning, Message = "Freelance server {Endpoint} is dead ({Reason})")]
    public static partial void ServerDead(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 2272, Level = LogLevel.Information, Message = "Request {RequestId}: try {Attempt} to {Target}")]
    public static partial void Retrying(ILogger logger, long requestId, int attempt, string target);

    [LoggerMessage(EventId = 2273, Level = LogLevel.Warning, Message = "Request {RequestId} abandoned after {Attempts} try(s): no reply before its deadline")]
    public static partial void RequestAbandoned(ILogger logger, long requestId, int attempts);

    [LoggerMessage(EventId = 2274, Level = LogLevel.Debug, Message = "Request {RequestId} cancelled by the caller after {Attempts} try(s)")]
    public static partial void RequestCancelled(ILogger logger, long requestId, int attempts);

    [LoggerMessage(EventId = 2275, Level = LogLevel.Debug, Message = "Reply {Sequence} from {Endpoint} is not outstanding (late or duplicate); dropped")]
    public static partial void LateReply(ILogger logger, long sequence, string endpoint);

    [LoggerMessage(EventId = 2276, Level = LogLevel.Warning, Message = "Dropped a {Frames}-frame message: {Reason}")]
    public static partial void InvalidMessage(ILogger logger, int frames, string reason);

    [LoggerMessage(EventId = 2277, Level = LogLevel.Debug, Message = "Send to {Endpoint} not accepted ({Result})")]
    public static partial void SendRefused(ILogger logger, string endpoint, FreelanceSendResult result);
}
