using Microsoft.Extensions.Logging;
using Reliability.Patterns;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// What makes the Lazy Pirate core and driver a Majordomo client: requests framed as MDP client REQUESTs
/// of the configured version and socket type, replies parsed and checked (version, service; MDP/0.2
/// partials collected before the FINAL), and the synchronous client's logs, metrics and exceptions.
/// </summary>
internal sealed class MajordomoClientProtocol(MajordomoClientOptions options, ILogger logger)
    : IRequestCodec<ClientRequest, MdpReply>, IRequestEvents<ClientRequest>
{
    private readonly MajordomoClientOptions _options = options;
    private readonly ILogger _logger = logger;
    private readonly string _socketTypeName = options.SocketType == MdpClientSocket.Req ? "REQ" : "DEALER";
    private long _invalidReplies;

    /// <summary>Messages from the broker that were not a valid reply to the request in flight.</summary>
    public long InvalidReplies => Interlocked.Read(ref _invalidReplies);

    /// <summary>The span of the request in flight (the client runs one at a time); resends run on the requester's thread, not in the caller's flow.</summary>
    public System.Diagnostics.Activity? Activity { get; set; }

    public Message Encode(ClientRequest request) => MdpCodec.BuildFromClient(request, _options.Version, _options.SocketType);

    public IReplyReader<MdpReply> StartReply(ClientRequest request, int attempt, long connectionId) =>
        new ReplyReader(this, request.Service, attempt, connectionId);

    public void Started() => ClientMetrics.Requests.Add(1, ClientMetrics.Sync);

    public void SocketOpened(long socketId) => ClientLog.SocketOpened(_logger, _socketTypeName, socketId, _options.BrokerNames);

    public void Retrying(long requestId, ClientRequest request, int attempt)
    {
        ClientMetrics.Retries.Add(1, ClientMetrics.Sync);
        ClientLog.Retrying(_logger, requestId, request.Service, attempt);
        MdpTelemetry.Retry(Activity, attempt);
        Callback.Invoke(_options.OnRetry, new RetryArguments(requestId, attempt, request.Service), _logger, nameof(MajordomoClientOptions.OnRetry));
    }

    public void AttemptAbandoned(long requestId, ClientRequest request, int attempt, long socketId) =>
        ClientLog.AttemptAbandoned(_logger, requestId, request.Service, attempt, socketId);

    public void AttemptFailed(long requestId, ClientRequest request, int attempt, long socketId, Exception error) =>
        ClientLog.AttemptFailed(_logger, requestId, request.Service, attempt, socketId, error);

    public Exception Abandoned(long requestId, ClientRequest request, int attempts, TimeoutException reason)
    {
        ClientMetrics.Abandoned.Add(1, ClientMetrics.Sync);
        ClientLog.Abandoned(_logger, requestId, request.Service, attempts, _options.BrokerNames, reason);
        string why = $"no reply within {_options.Timeout.TotalMilliseconds} ms on any of {_options.Retries + 1} attempt(s)";
        return new MdpRequestFailedException(request.Service, attempts, _options.BrokerNames, why, reason);
    }

    /// <summary>
    /// One attempt's reply: every message is parsed and checked (version, service); MDP/0.2 partials are
    /// collected until the FINAL. A REQ socket delivers exactly one reply per request, so an invalid one
    /// fails the attempt; a DEALER skips it as a stray.
    /// </summary>
    private sealed class ReplyReader(MajordomoClientProtocol protocol, string service, int attempt, long connectionId) : IReplyReader<MdpReply>
    {
        private List<Message>? _partials;

        public ReplyStep<MdpReply> Read(Message message)
        {
            var options = protocol._options;
            var parsed = MdpCodec.ParseAtClient(message, options.SocketType);
            string? problem = ReplyCheck.Problem(parsed, options.Version, service);
            if (problem is not null)
            {
                Interlocked.Increment(ref protocol._invalidReplies);
                ClientMetrics.InvalidReplies.Add(1, ClientMetrics.Sync);
                ClientLog.InvalidReply(protocol._logger, options.BrokerNames, connectionId, problem);
                return options.SocketType == MdpClientSocket.Req
                    ? ReplyStep<MdpReply>.Fail(new MdpRequestFailedException(service, attempt, options.BrokerNames, $"the broker's reply was not valid ({problem})") { Failure = MdpFailure.InvalidReply })
                    : ReplyStep<MdpReply>.More;
            }

            if (parsed.Command is ClientPartial partial)
            {
                (_partials ??= []).Add(new Message(partial.Body));
                return ReplyStep<MdpReply>.More;
            }

            if (HandlerFailureReply.TryRead(parsed.Command!.Body, out string exceptionType))
            {
                return ReplyStep<MdpReply>.Fail(ReplyCheck.HandlerFailed(service, attempt, options.BrokerNames, exceptionType));
            }

            return ReplyStep<MdpReply>.Done(new MdpReply(parsed.Command!.Service, new Message(parsed.Command.Body), _partials, parsed.Version));
        }
    }
}

/// <summary>Checks shared by both clients: is a parsed message a reply they can use?</summary>
internal static class ReplyCheck
{
    /// <summary>The failure for a worker's failure reply (docs/wire/mdp.md §17).</summary>
    public static MdpRequestFailedException HandlerFailed(string service, int attempts, string endpoint, string exceptionType) =>
        new(service, attempts, endpoint, $"the worker's handler failed ({exceptionType})") { Failure = MdpFailure.HandlerFailed };

    /// <summary>Why <paramref name="parsed"/> is not a reply of <paramref name="version"/> from <paramref name="service"/> (any service when null), or null when it is.</summary>
    public static string? Problem(MdpParseResult<MdpClientCommand> parsed, MdpVersion version, string? service)
    {
        if (!parsed.IsSuccess)
        {
            return parsed.Error;
        }

        if (parsed.Version != version)
        {
            return $"an MDP/{Name(parsed.Version)} reply to an MDP/{Name(version)} client";
        }

        if (service is not null && !string.Equals(parsed.Command.Service, service, StringComparison.Ordinal))
        {
            return $"a reply from service '{parsed.Command.Service}' while waiting for '{service}'";
        }

        return null;
    }

    public static string Name(MdpVersion version) => version == MdpVersion.V01 ? "0.1" : "0.2";
}
