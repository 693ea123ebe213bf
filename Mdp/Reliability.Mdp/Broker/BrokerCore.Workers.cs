using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Patterns;

namespace Reliability.Mdp.Broker;

/// <summary>Why a worker left the broker's books.</summary>
internal enum WorkerRemoval
{
    /// <summary>No message for <see cref="BrokerOptions.WorkerExpiry"/>; DISCONNECT sent in case it still listens.</summary>
    Expired,

    /// <summary>The worker sent DISCONNECT; nothing is sent back (RFC 7).</summary>
    Disconnected,

    /// <summary>A send failed: its connection is gone or its queue is full.</summary>
    Unreachable,

    /// <summary>Its connection ended (the socket said so) and no other connection has its routing id.</summary>
    ConnectionLost,

    /// <summary>It broke the protocol (second READY, reply while idle or for another client, invalid message); DISCONNECT sent.</summary>
    Violation,
}

internal sealed partial class BrokerCore
{
    private void OnWorkerCommand(ReadOnlyMemory<byte> sender, MdpVersion version, MdpWorkerCommand command)
    {
        if (!_pool.TryGet(sender.Span, out var worker))
        {
            OnUnknownWorker(sender, version, command);
            return;
        }

        if (_options.Security is { WorkerAuth: not BrokerPeerAuth.None } && worker.UserId != _senderUserId)
        {
            // Another connection took over the routing id of an authorised worker (ROUTER handover).
            Violate(worker, "a command from another user id than its READY's");
            return;
        }

        // Every command counts as a heartbeat, whatever it is (RFC 7; docs/wire/mdp.md §8).
        _pool.Touch(worker);
        if (version != worker.Version)
        {
            Violate(worker, $"{CommandName(command)} in {version.DisplayName()}");
            return;
        }

        switch (command)
        {
            case WorkerHeartbeat:
                // Refreshes liveness only; never moves a busy worker to ready (docs/wire/mdp.md §9).
                break;
            case WorkerDisconnect:
                LoseWorker(worker, WorkerRemoval.Disconnected);
                break;
            case WorkerReady:
                Violate(worker, "a second READY");
                break;
            case WorkerPartial partial:
                OnPartial(worker, partial);
                break;
            case WorkerEnvelopeCommand final:
                OnFinal(worker, final);
                break;
        }
    }

    /// <summary>A command from a routing id that is not a registered worker.</summary>
    private void OnUnknownWorker(ReadOnlyMemory<byte> sender, MdpVersion version, MdpWorkerCommand command)
    {
        switch (command)
        {
            case WorkerReady ready:
                Register(sender, version, ready);
                break;
            case WorkerDisconnect:
                // It says goodbye to a broker that does not know it: nothing to do, nothing to send.
                break;
            default:
                // Valid but unexpected (typically after a broker restart): DISCONNECT makes it register
                // again on a new socket. At most once per heartbeat interval per id (docs/wire/mdp.md §12).
                if (!_silenced.IsSilenced(sender.Span, Now))
                {
                    if (_peerLog.TryTake("unknown_worker"))
                    {
                        BrokerLog.UnknownWorker(_logger, new CommandLabel(command), new RoutingKey(sender), version);
                    }

                    SendDisconnect(sender, version, "unknown_worker");
                }

                break;
        }
    }

    private void Register(ReadOnlyMemory<byte> sender, MdpVersion version, WorkerReady ready)
    {
        string serviceName = ready.Service;
        if (_options.Security?.WorkerRefusal(_senderUserId) is { } unauthorised)
        {
            BrokerLog.ReadyRefused(_logger, new RoutingKey(sender), serviceName, unauthorised);
            SendDisconnect(sender, version, "worker_unauthorised");
            return;
        }


        string? refusal =
            Mmi.IsMmiService(serviceName) ? "mmi.* services are answered by the broker itself (RFC 8)"
            : Utf8Length(serviceName) > _options.MaxServiceNameLength ? $"service name longer than {_options.MaxServiceNameLength} bytes"
            : _pool.Count >= _options.MaxWorkers ? $"the broker already has {_options.MaxWorkers} workers (MaxWorkers)"
            : null;
        ServiceEntry? service = null;
        if (refusal is null)
        {
            service = GetOrCreateService(serviceName);
            refusal = service is null ? $"the broker already knows {_options.MaxServices} services (MaxServices)" : null;
        }

        if (refusal is not null || service is null)
        {
            if (_peerLog.TryTake("ready_refused"))
            {
                BrokerLog.ReadyRefused(_logger, new RoutingKey(sender), serviceName, refusal ?? "refused");
            }

            SendDisconnect(sender, version, "ready_refused");
            return;
        }

        var id = new RoutingKey(sender.Span);
        _silenced.Remove(sender.Span);
        var worker = new WorkerEntry(id, version, service) { UserId = _senderUserId, TraceContext = ready.TraceContext };
        _pool.Add(worker);
        service.WorkerCount++;
        _metrics.WorkersChanged(service.Name, 1);
        if (_peerLog.TryTake("worker_registered"))
        {
            BrokerLog.WorkerRegistered(_logger, id, version, service.Name, service.WorkerCount);
        }

        Dispatch(service);
    }

    /// <summary>REPLY (MDP/0.1) or FINAL (MDP/0.2): forward it, and the worker is ready again.</summary>
    private void OnFinal(WorkerEntry worker, WorkerEnvelopeCommand reply)
    {
        if (!IsReplyExpected(worker, reply))
        {
            return;
        }

        // Least recently used first: a worker that just finished goes to the back.
        var request = _pool.MakeReady(worker)!;
        SendReply(request, worker.Service.Name, reply.Body, final: true);
        Dispatch(worker.Service);
    }

    /// <summary>PARTIAL (MDP/0.2): forward it to an MDP/0.2 client; the worker stays busy.</summary>
    private void OnPartial(WorkerEntry worker, WorkerPartial partial)
    {
        if (!IsReplyExpected(worker, partial))
        {
            return;
        }

        SendReply(worker.Request!, worker.Service.Name, partial.Body, final: false);
    }

    private bool IsReplyExpected(WorkerEntry worker, WorkerEnvelopeCommand reply)
    {
        if (worker.State != WorkerState.Busy || worker.Request is null)
        {
            Violate(worker, $"{CommandName(reply)} without a request");
            return false;
        }

        if (!worker.Request.Client.Equals(reply.ClientAddress.Span))
        {
            Violate(worker, $"{CommandName(reply)} for client {Hex(reply.ClientAddress)}, not for {worker.Request.Client}");
            return false;
        }

        return true;
    }

    /// <summary>A registered worker broke the protocol: it gets DISCONNECT and its request goes to another worker.</summary>
    private void Violate(WorkerEntry worker, string what)
    {
        if (_peerLog.TryTake("worker_violation"))
        {
            BrokerLog.WorkerViolation(_logger, worker.Id, worker.Service.Name, what, worker.State);
        }

        LoseWorker(worker, WorkerRemoval.Violation);
    }

    /// <summary>Removes a worker, requeues (or drops) its request, and serves its service again.</summary>
    private void LoseWorker(WorkerEntry worker, WorkerRemoval reason)
    {
        var service = worker.Service;
        var request = RemoveWorker(worker, reason);
        if (request is not null)
        {
            Requeue(service, request);
        }

        Dispatch(service);
    }

    /// <summary>
    /// Takes a worker off the books (state <see cref="WorkerState.Expired"/>) and returns the request
    /// it was working on. Does not dispatch or forget the service: the caller does, once its own state is consistent.
    /// </summary>
    private PendingRequest<MdpRequest>? RemoveWorker(WorkerEntry worker, WorkerRemoval reason)
    {
        var service = worker.Service;
        var state = worker.State;
        var request = _pool.Remove(worker);
        service.WorkerCount--;
        _metrics.WorkersChanged(service.Name, -1);
        string? expiry = null;
        switch (reason)
        {
            case WorkerRemoval.Expired:
                if (_peerLog.TryTake("worker_expired"))
                {
                    BrokerLog.WorkerExpired(_logger, worker.Id, service.Name, state, _options.WorkerExpiry.TotalMilliseconds);
                }

                expiry = "expired";

                // It may only be slow or cut off: DISCONNECT tells it to register again if it ever hears us.
                SendDisconnect(worker.Id.Memory, worker.Version, "expired");
                break;
            case WorkerRemoval.Violation:
                expiry = "violation";
                SendDisconnect(worker.Id.Memory, worker.Version, "violation");
                break;
            case WorkerRemoval.Unreachable:
                if (_peerLog.TryTake("worker_unreachable"))
                {
                    BrokerLog.WorkerUnreachable(_logger, worker.Id, service.Name, state);
                }

                expiry = "unreachable";
                break;
            case WorkerRemoval.ConnectionLost:
                if (_peerLog.TryTake("worker_connection_lost"))
                {
                    BrokerLog.WorkerConnectionLost(_logger, worker.Id, service.Name, state);
                }

                expiry = "connection_lost";
                break;
            default:
                if (_peerLog.TryTake("worker_disconnected"))
                {
                    BrokerLog.WorkerDisconnected(_logger, worker.Id, service.Name, state);
                }

                break;
        }

        if (expiry is not null)
        {
            _metrics.WorkerExpired(expiry);
            Callback.Invoke(_options.OnWorkerExpired, new WorkerExpiredArguments(worker.Id.Memory, service.Name, expiry), _logger, nameof(_options.OnWorkerExpired));
        }

        return request;
    }

    /// <summary>Gives a request whose worker was lost back to the head of the queue, at most <see cref="BrokerOptions.MaxRequeues"/> times.</summary>
    private void Requeue(ServiceEntry service, PendingRequest<MdpRequest> request)
    {
        if (_pool.Requeue(request, service.Queue) != LostRequestFate.Requeued)
        {
            // The client's own retry recovers it; a request that kills every worker must not go round forever.
            if (_dropLog.TryTake("requeue_limit"))
            {
                BrokerLog.RequeueLimitReached(_logger, request.Client, service.Name, request.Requeues);
            }

            _metrics.RequestsDropped("requeue_limit");
            return;
        }

        _metrics.QueueDepthChanged(service.Name, 1);
        _metrics.RequestRequeued("worker_lost");
        if (_peerLog.TryTake("request_requeued"))
        {
            BrokerLog.RequestRequeued(_logger, request.Client, service.Name, request.Requeues, _options.MaxRequeues);
        }
    }

    /// <summary>Sends DISCONNECT to <paramref name="id"/> (best effort) and stays silent towards it for one heartbeat interval: at most one DISCONNECT per id per interval.</summary>
    private void SendDisconnect(ReadOnlyMemory<byte> id, MdpVersion version, string reason)
    {
        _sender.TrySend(MdpCodec.BuildToWorker(id, WorkerDisconnect.Instance, version));
        _metrics.DisconnectSent(reason);
        _silenced.Add(new RoutingKey(id.Span), Now + _intervalUnits);
    }

    private void OnInvalidMessage(ReadOnlyMemory<byte> sender, string error)
    {
        _metrics.InvalidMessage();
        if (_invalidMessageLog.TryTake())
        {
            ReportSuppressedInvalidMessages();
            BrokerLog.InvalidMessage(_logger, new RoutingKey(sender), error);
        }

        // RFC 7: the broker SHOULD treat the sender of an invalid message as invalid.
        if (!sender.IsEmpty && _pool.TryGet(sender.Span, out var worker))
        {
            Violate(worker, "an invalid message");
        }
    }

    private void ReportSuppressedInvalidMessages()
    {
        long suppressed = _invalidMessageLog.TakeSuppressed();
        if (suppressed > 0)
        {
            BrokerLog.InvalidMessagesSuppressed(_logger, suppressed, InvalidMessageLinesPerSecond);
        }
    }

    internal static string CommandName(MdpCommand command) => command switch
    {
        WorkerReady => "READY",
        WorkerReply => "REPLY",
        WorkerPartial => "PARTIAL",
        WorkerFinal => "FINAL",
        WorkerHeartbeat => "HEARTBEAT",
        WorkerDisconnect => "DISCONNECT",
        _ => "REQUEST",
    };
}
