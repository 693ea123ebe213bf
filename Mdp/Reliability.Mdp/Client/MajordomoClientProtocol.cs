using Microsoft.Extensions.Logging;
using Polly;
using Reliability.Patterns;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// What makes the Lazy Pirate attempt loop a Majordomo client: requests framed as MDP client REQUESTs
/// of the configured version and socket type, replies parsed and checked (version, service; MDP/0.2
/// partials collected before the FINAL), and the synchronous client's logs, metrics and exceptions.
/// </summary>
internal sealed class MajordomoClientProtocol(MajordomoClientOptions options, ILogger logger)
    : IRequestCodec<ClientRequest, MdpReply>, IRequestEvents<ClientRequest>
{
    private readonly string _socketTypeName = options.SocketType == MdpClientSocket.Req ? "REQ" : "DEALER";
    private long _invalidReplies;

    /// <summary>Messages from the broker that were not a valid reply to the request in flight.</summary>
    public long InvalidReplies => Interlocked.Read(ref _invalidReplies);

    public Message Encode(ClientRequest request) => MdpCodec.BuildFromClient(request, options.Version, options.SocketType);

    public async ValueTask<MdpReply> ReadReplyAsync(IRequestConnection connection, ClientRequest request, int attempt, CancellationToken cancellationToken)
    {
        string service = request.Service;
        List<Message>? partials = null;

        // Bounded by the attempt's token; each pass consumes one message.
        while (true)
        {
            var message = await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            var parsed = MdpCodec.ParseAtClient(message, options.SocketType);
            string? problem = ReplyCheck.Problem(parsed, options.Version, service);
            if (problem is not null)
            {
                Interlocked.Increment(ref _invalidReplies);
                ClientMetrics.InvalidReplies.Add(1, ClientMetrics.Sync);
                ClientLog.InvalidReply(logger, options.BrokerNames, connection.Id, problem);
                if (options.SocketType == MdpClientSocket.Req)
                {
                    // A REQ socket delivers exactly one reply per request: this was it, and it is wrong.
                    throw new MdpRequestFailedException(service, attempt, options.BrokerNames, $"the broker's reply was not valid ({problem})");
                }

                continue;
            }

            switch (parsed.Command)
            {
                case ClientPartial partial:
                    (partials ??= []).Add(new Message(partial.Body));
                    continue;
                default:
                    return new MdpReply(parsed.Command!.Service, new Message(parsed.Command.Body), partials, parsed.Version);
            }
        }
    }

    public void Started() => ClientMetrics.Requests.Add(1, ClientMetrics.Sync);

    public void SocketOpened(long socketId) => ClientLog.SocketOpened(logger, _socketTypeName, socketId, options.BrokerNames);

    public void Retrying(long requestId, ClientRequest request, int attempt)
    {
        ClientMetrics.Retries.Add(1, ClientMetrics.Sync);
        ClientLog.Retrying(logger, requestId, request.Service, attempt);
        Callback.Invoke(options.OnRetry, new RetryArguments(requestId, attempt, request.Service), logger, nameof(options.OnRetry));
    }

    public void AttemptAbandoned(long requestId, ClientRequest request, int attempt, long socketId) =>
        ClientLog.AttemptAbandoned(logger, requestId, request.Service, attempt, socketId);

    public void AttemptFailed(long requestId, ClientRequest request, int attempt, long socketId, Exception error) =>
        ClientLog.AttemptFailed(logger, requestId, request.Service, attempt, socketId, error);

    public Exception Abandoned(long requestId, ClientRequest request, int attempts, ExecutionRejectedException reason)
    {
        ClientMetrics.Abandoned.Add(1, ClientMetrics.Sync);
        ClientLog.Abandoned(logger, requestId, request.Service, attempts, options.BrokerNames, reason);
        string why = options.Pipeline is null
            ? $"no reply within {options.Timeout.TotalMilliseconds} ms on any of {options.Retries + 1} attempt(s)"
            : $"the resilience pipeline gave up ({reason.GetType().Name})";
        return new MdpRequestFailedException(request.Service, attempts, options.BrokerNames, why, reason);
    }
}

/// <summary>Checks shared by both clients: is a parsed message a reply they can use?</summary>
internal static class ReplyCheck
{
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
