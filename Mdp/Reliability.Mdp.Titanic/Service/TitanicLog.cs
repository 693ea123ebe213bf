using Microsoft.Extensions.Logging;

namespace Reliability.Mdp.Titanic.Service;

/// <summary>Titanic's log messages (event ids 3500-3599).</summary>
internal static partial class TitanicLog
{
    [LoggerMessage(EventId = 3500, Level = LogLevel.Information, Message = "Titanic serving titanic.request/reply/close at {Endpoint}: {Count} request(s) in store, at most {MaxRequests}")]
    public static partial void Started(ILogger logger, string endpoint, int count, int maxRequests);

    [LoggerMessage(EventId = 3501, Level = LogLevel.Information, Message = "Titanic stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Warning, Message = "titanic.request refused: the store holds its maximum of {MaxRequests} requests")]
    public static partial void Full(ILogger logger, int maxRequests);

    [LoggerMessage(EventId = 3503, Level = LogLevel.Warning, Message = "Malformed {Service} request ({Frames} frame(s)) answered 400")]
    public static partial void Malformed(ILogger logger, string service, int frames);

    [LoggerMessage(EventId = 3504, Level = LogLevel.Error, Message = "Store failed during {Operation}; answered 500 or retried later")]
    public static partial void StoreFailed(ILogger logger, string operation, Exception error);

    [LoggerMessage(EventId = 3505, Level = LogLevel.Debug, Message = "Request {Id} for '{Service}': no worker yet, kept for later")]
    public static partial void NoWorker(ILogger logger, string id, string service);

    [LoggerMessage(EventId = 3506, Level = LogLevel.Warning, Message = "Request {Id} for '{Service}' attempt {Attempt} got no reply; it will be sent again")]
    public static partial void Unanswered(ILogger logger, string id, string service, int attempt);

    [LoggerMessage(EventId = 3507, Level = LogLevel.Information, Message = "Request {Id}: a reply was already stored (or the request closed); this one is dropped")]
    public static partial void DuplicateReply(ILogger logger, string id);

    [LoggerMessage(EventId = 3508, Level = LogLevel.Information, Message = "{Count} answered request(s) expired (reply time to live {Ttl})")]
    public static partial void Expired(ILogger logger, int count, TimeSpan ttl);
}
