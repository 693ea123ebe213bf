using Reliability.Patterns.Queueing;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

internal sealed partial class BrokerCore
{
    /// <summary>
    /// Asked before each client request is handled (MMI included); a request it refuses is dropped
    /// unanswered. The Binary Star node's vote when the broker is one of a pair; none for a lone broker.
    /// </summary>
    public Func<bool>? ClientRequestVote { get; init; }

    private void OnClientRequest(ReadOnlyMemory<byte> sender, MdpVersion version, ClientRequest request)
    {
        _metrics.RequestReceived(version);
        if (ClientRequestVote is { } vote && !vote())
        {
            // Not the active node of a Binary Star pair: unanswered, so the client fails over (the node logs and counts it).
            _metrics.RequestsDropped("not_active");
            return;
        }

        if (_options.Security?.ClientRefusal(_senderUserId) is { } unauthenticated)
        {
            RefuseRequest(sender, request.Service, "client_unauthenticated", unauthenticated);
            return;
        }

        if (Mmi.IsMmiService(request.Service))
        {
            AnswerMmi(sender, version, request);
            return;
        }

        if (Utf8Length(request.Service) > _options.MaxServiceNameLength)
        {
            RefuseRequest(sender, request.Service, "service_name_too_long", $"service name longer than {_options.MaxServiceNameLength} bytes");
            return;
        }

        var service = GetOrCreateService(request.Service);
        if (service is null)
        {
            RefuseRequest(sender, request.Service, "service_limit", $"the broker already knows {_options.MaxServices} services (MaxServices)");
            return;
        }

        // No limit refuses a request: one that fills a queue pauses its client instead (FlowControl).
        // Queued even when a worker is idle: Dispatch takes it straight out again, and every request
        // then goes through the same fair order.
        // Every MDP/0.2 request loses its trace frame here, so a worker that did not ask for one never sees it (docs/wire/mdp.md §18).
        ReadOnlyMemory<byte> trace = default;
        var body = version == MdpVersion.V02 ? TraceFrame.Strip(request.Body, out trace) : request.Body;
        service.Queue.Enqueue(new PendingRequest<MdpRequest>(new RoutingKey(sender.Span), new MdpRequest(version, body, trace), Now));
        _metrics.QueueDepthChanged(service.Name, 1);
        Dispatch(service);
    }

    private void RefuseRequest(ReadOnlyMemory<byte> sender, string service, string reason, string description)
    {
        // No reply: MDP has no error reply for clients; the client times out and retries or gives up.
        if (_dropLog.TryTake(reason))
        {
            BrokerLog.RequestRefused(_logger, new RoutingKey(sender), service, description);
        }

        _metrics.RequestsDropped(reason);
    }

    /// <summary>
    /// Sends a worker's reply to the request's client in the client's own protocol version. An MDP/0.1
    /// client gets the final reply as REPLY and never sees PARTIAL replies: MDP/0.1 has exactly one
    /// reply per request, and joining partials would need unbounded buffering and change the body.
    /// </summary>
    private void SendReply(PendingRequest<MdpRequest> request, string service, IReadOnlyList<ReadOnlyMemory<byte>> body, bool final)
    {
        MdpClientCommand reply;
        if (request.Payload.ClientVersion == MdpVersion.V01)
        {
            if (!final)
            {
                _metrics.ReplyDropped("partial_to_mdp01_client");
                BrokerLog.ReplyDropped(_logger, request.Client, service, "PARTIAL reply for an MDP/0.1 client");
                return;
            }

            reply = new ClientReply(service, body);
        }
        else
        {
            reply = final ? new ClientFinal(service, body) : new ClientPartial(service, body);
        }

        var result = _backlog.Send(request.Client, MdpCodec.BuildToClient(request.Client.Memory, reply, request.Payload.ClientVersion));
        if (result != PeerSendResult.Unreachable)
        {
            // Sent, or held until the client reads again (it counts against the client's limit meanwhile).
            if (final)
            {
                _metrics.ReplySent();
            }

            return;
        }

        // The client left; its own retry takes over.
        _metrics.ReplyDropped("client_gone");
        BrokerLog.ReplyDropped(_logger, request.Client, service, "client_gone");
    }
}
