using Microsoft.Extensions.Logging;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Patterns.Queueing;
using Reliability.Transport;

namespace Reliability.Patterns.SimplePirate;

/// <summary>
/// The Simple Pirate queue's decisions, without sockets (docs/wire/ppp.md §3): it consumes client
/// requests, worker messages and worker peer events as received on the ROUTERs (routing id first)
/// and emits messages through an <see cref="IPirateQueueSender"/>. There is no timer: the protocol
/// has no heartbeats.
/// </summary>
/// <remarks>Single-threaded: owned by the loop that receives from both sockets.</remarks>
internal sealed class SimplePirateCore : IQueueCore
{
    private readonly IPirateQueueSender _sender;
    private readonly ILogger _logger;
    private readonly Action<RoutingKey> _registered;
    private readonly SimplePirateWorkerList _workers = new();

    /// <param name="sender">Where messages go.</param>
    /// <param name="logger">Logging.</param>
    /// <param name="registered">Told of each new worker (tests wait on it).</param>
    public SimplePirateCore(IPirateQueueSender sender, ILogger logger, Action<RoutingKey> registered)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(registered);
        _sender = sender;
        _logger = logger;
        _registered = registered;
    }

    /// <summary>Workers known, free or busy.</summary>
    public int WorkerCount => _workers.Count;

    /// <summary>Free workers.</summary>
    public int ReadyWorkerCount => _workers.ReadyCount;

    /// <summary>Whether the driver may read the frontend now: a worker is free (requests otherwise wait in the clients' queues).</summary>
    public bool CanAcceptClientRequest => _workers.ReadyCount > 0;

    /// <summary>No timers: the Simple Pirate queue neither heartbeats nor expires its workers.</summary>
    public TimeSpan NextDeadlineIn => Timeout.InfiniteTimeSpan;

    /// <summary>Nothing is ever due (see <see cref="NextDeadlineIn"/>).</summary>
    public void OnTimer()
    {
    }

    /// <summary>Handles one item of the backend's receive stream (a worker's message or peer event). Never throws for bad input.</summary>
    public void OnBackendMessage(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var worker = new RoutingKey(message[0]);
        switch (message.PeerEvent)
        {
            case PeerEventKind.Connected:
                return;
            case PeerEventKind.Disconnected:
                // Without heartbeats this is the only way a busy worker that died is ever forgotten.
                if (_workers.Remove(worker))
                {
                    Forget(worker, "connection_lost");
                }

                return;
        }

        string? problem = "missing the empty frame a REQ worker puts first";
        var command = message.Count >= 3 && message[1].IsEmpty ? PirateProtocol.Classify(message, 2, out problem) : WorkerCommand.Invalid;
        switch (command)
        {
            case WorkerCommand.Ready:
                MarkReady(worker);
                break;

            case WorkerCommand.Reply:
                // Any reply frees its worker, even one this queue did not know (it restarted under a busy worker).
                MarkReady(worker);
                message.RemoveFront(2);
                RouteReply(message);
                break;

            default:
                SimplePirateLog.InvalidWorkerMessage(_logger, worker, problem ?? "not a READY or a reply");
                PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "source", "worker"));
                break;
        }
    }

    /// <summary>Handles one item of the frontend's receive stream: a request goes to the least recently used free worker. Never throws for bad input.</summary>
    public void OnFrontendMessage(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.PeerEvent != PeerEventKind.None)
        {
            // Nothing of a client is kept here, so its connection's end changes nothing.
            return;
        }

        if (PirateProtocol.FindDelimiter(message, 0) < 0)
        {
            SimplePirateLog.InvalidClientRequest(_logger, new RoutingKey(message[0]), message.Count - 1);
            PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "source", "client"));
            return;
        }

        Dispatch(message);
    }

    /// <summary>Forgets every worker (shutdown). Returns how many were known.</summary>
    public int Shutdown()
    {
        int known = _workers.Clear();
        PirateMetrics.WorkersAlive.Add(-known, PirateMetrics.Queue(PirateMetrics.Simple));
        return known;
    }

    private void MarkReady(RoutingKey worker)
    {
        if (_workers.MarkReady(worker))
        {
            PirateMetrics.WorkersAlive.Add(1, PirateMetrics.Queue(PirateMetrics.Simple));
            SimplePirateLog.WorkerRegistered(_logger, worker, _workers.Count);
            _registered(worker);
        }
    }

    private void RouteReply(Message reply)
    {
        var client = reply[0];
        var result = _sender.TrySend(reply);
        if (result == PeerSendResult.Sent)
        {
            PirateMetrics.RepliesRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Simple));
            return;
        }

        // The Simple Pirate queue stays the zguide's minimal one: a client that does not read loses replies.
        string reason = result == PeerSendResult.Unreachable ? "client_gone" : "client_queue_full";
        SimplePirateLog.ReplyDropped(_logger, new RoutingKey(client), reason);
        PirateMetrics.RepliesDropped.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "reason", reason));
    }

    private void Dispatch(Message request)
    {
        // Bounded: each failed attempt removes a worker from the free list.
        while (_workers.TryTakeReady(out var worker))
        {
            var outgoing = new Message(request.Count + 2).Append(worker.Memory).AppendEmpty();
            foreach (var frame in request)
            {
                outgoing.Append(frame);
            }

            if (_sender.TrySendToWorker(outgoing))
            {
                PirateMetrics.RequestsRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Simple));
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    SimplePirateLog.RequestDispatched(_logger, new RoutingKey(request[0]), worker);
                }

                return;
            }

            _workers.Remove(worker);
            Forget(worker, "unreachable");
        }

        // Every free worker turned out to be gone: the request is dropped and the client's retry recovers it.
        PirateMetrics.RequestsAbandoned.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "reason", "no_worker"));
        SimplePirateLog.ReplyDropped(_logger, new RoutingKey(request[0]), "every free worker was unreachable; request dropped");
    }

    /// <summary>Counts and logs a worker just removed from the list.</summary>
    private void Forget(RoutingKey worker, string reason)
    {
        PirateMetrics.WorkersAlive.Add(-1, PirateMetrics.Queue(PirateMetrics.Simple));
        PirateMetrics.WorkersExpired.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "reason", reason));
        SimplePirateLog.WorkerUnreachable(_logger, worker);
    }
}
