using Microsoft.Extensions.Logging;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>
/// The Pirate queues' only way out: non-blocking sends on their two ROUTER sockets (to clients through
/// <see cref="IPeerSender.TrySend"/>), and pausing a client's reading. The queue loop implements it
/// with ROUTER_MANDATORY sockets; tests record the messages.
/// </summary>
internal interface IPirateQueueSender : IPeerSender, IFlowSwitch
{
    /// <summary>Sends to a worker (routing id first) without waiting: false when it is unreachable or its queue is full (either way it is treated as gone).</summary>
    bool TrySendToWorker(Message message);
}

/// <summary>
/// The Paranoid Pirate queue's decisions, without sockets (docs/wire/ppp.md): it consumes client
/// requests, worker messages and peer events as received on the ROUTERs (routing id first) and the
/// passing of time, and emits messages through an <see cref="IPirateQueueSender"/>. The
/// bookkeeping (workers, LRU, requeue) is a <see cref="WorkerRegistry"/>; logs, metrics and
/// callbacks are here, so the driver only moves messages.
/// </summary>
/// <remarks>
/// Single-threaded: owned by the loop that receives from both sockets. Time comes only from the
/// injected <see cref="TimeProvider"/>, so tests drive it with a manual clock.
/// </remarks>
internal sealed class PirateQueueCore : IQueueCore
{
    // The byte bound of a client's held replies (see MaxHeldRepliesPerClient for the count).
    private const long MaxHeldBytesPerClient = 64L << 20;

    // How often held replies are tried again while a client is not reading.
    private static readonly TimeSpan HeldReplyRetry = TimeSpan.FromMilliseconds(10);

    private readonly ParanoidPirateQueueOptions _options;
    private readonly IPirateQueueSender _sender;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<QueueEventKind, RoutingKey> _observed;
    private readonly WorkerRegistry _registry;
    private readonly HeartbeatTimer _heartbeat;
    private readonly PauseGuard _pauses;
    private readonly FlowControl _flow;
    private readonly ReplyBacklog _backlog;
    private readonly List<RoutingKey> _scratch = [];

    /// <summary>Creates the core; the options must be valid.</summary>
    /// <param name="options">Validated settings.</param>
    /// <param name="sender">Where messages go.</param>
    /// <param name="timeProvider">Clock.</param>
    /// <param name="logger">Logging.</param>
    /// <param name="observed">Told of each decision (tests wait on it).</param>
    public PirateQueueCore(ParanoidPirateQueueOptions options, IPirateQueueSender sender, TimeProvider timeProvider, ILogger logger, Action<QueueEventKind, RoutingKey> observed)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(observed);
        _options = options;
        _sender = sender;
        _time = timeProvider;
        _logger = logger;
        _observed = observed;
        _registry = new WorkerRegistry(options.Heartbeat.ExpiryTimeout, options.MaxRequeues, options.RequeueMaxAge, timeProvider);
        _heartbeat = new HeartbeatTimer(options.Heartbeat.Interval, timeProvider);
        _pauses = new PauseGuard(options.Heartbeat.Interval, timeProvider);

        // Replies for a client that is not reading are held, not dropped; the client is no longer read once
        // it has MaxHeldRepliesPerClient of them waiting (docs/wire/ppp.md §12a).
        var limits = new FlowLimits(options.MaxHeldRepliesPerClient, MaxHeldBytesPerClient, int.MaxValue, long.MaxValue, int.MaxValue, long.MaxValue);
        _flow = new FlowControl(limits, sender);
        _backlog = new ReplyBacklog(sender, _flow);
    }

    /// <summary>Known workers, ready or busy.</summary>
    public int WorkerCount => _registry.Count;

    /// <summary>Workers free to take a request.</summary>
    public int ReadyWorkerCount => _registry.ReadyCount;

    /// <summary>Lost requests waiting for a free worker.</summary>
    public int RequeuedCount => _registry.RequeuedCount;

    /// <summary>Replies held for clients that are not reading.</summary>
    public int HeldReplyCount => _backlog.Count;

    /// <summary>
    /// Whether the driver may read the frontend now: a worker can take a request at once (zguide: the
    /// queue only reads clients when it can dispatch, so waiting requests stay in the socket).
    /// </summary>
    public bool CanAcceptClientRequest => _registry.CanAcceptClientRequest;

    /// <summary>
    /// Time until <see cref="OnTimer"/> must next run (a heartbeat, a worker deadline, a requeued
    /// request's age limit, or held replies to try again): the driver's wait timeout.
    /// </summary>
    public TimeSpan NextDeadlineIn
    {
        get
        {
            var timeout = _heartbeat.DueIn;

            // After a deferral, wait up to an interval (the heartbeats that arrived during the pause
            // wake the driver at once) instead of returning for a deadline already passed.
            if (!_pauses.Deferred && _registry.NextDeadlineIn is { } deadline && deadline < timeout)
            {
                timeout = deadline;
            }

            return _backlog.Count > 0 && HeldReplyRetry < timeout ? HeldReplyRetry : timeout;
        }
    }

    /// <summary>
    /// Expires silent workers (unless the loop itself was just paused), heartbeats every worker when
    /// due, drops requeued requests grown too old, hands the others to free workers and tries held
    /// replies again. Calling it early is harmless.
    /// </summary>
    public void OnTimer()
    {
        if (_pauses.MayExpire())
        {
            ExpireWorkers();
        }
        else
        {
            ParanoidPirateLog.LoopPaused(_logger, "queue", _pauses.LastPause.TotalMilliseconds);
        }

        if (_heartbeat.TryFire())
        {
            SendHeartbeats();
        }

        DropStaleRequeued();
        DispatchRequeued();
        _backlog.Flush();
    }

    /// <summary>Handles one item of the frontend's receive stream (a request, or a client's peer event). Never throws for bad input.</summary>
    public void OnFrontendMessage(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var client = new RoutingKey(message[0]);
        switch (message.PeerEvent)
        {
            case PeerEventKind.Connected:
                return;
            case PeerEventKind.Disconnected:
                OnClientGone(client);
                return;
        }

        if (PirateProtocol.FindDelimiter(message, 0) < 0)
        {
            ParanoidPirateLog.InvalidClientRequest(_logger, client, message.Count - 1);
            PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "source", "client"));
            Raise(QueueEventKind.InvalidMessage, client);
            return;
        }

        Dispatch(new PendingRequest<Message>(client, message, _time.GetTimestamp()));
        DispatchRequeued();
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
                // In order with its messages: the id is gone now, so its request is requeued at once instead of at its expiry.
                if (_registry.Remove(worker) is { } gone)
                {
                    ReportUnreachable(gone, "connection_lost");
                    DispatchRequeued();
                }

                return;
        }

        switch (PirateProtocol.Classify(message, 1, out var problem))
        {
            case WorkerCommand.Ready:
                OnReady(worker);
                break;

            case WorkerCommand.Heartbeat:
                if (!_registry.OnHeartbeat(worker))
                {
                    ParanoidPirateLog.UnknownWorkerHeartbeat(_logger, worker);
                }

                break;

            case WorkerCommand.Reply:
                OnReply(worker, message);
                break;

            default:
                _registry.OnInvalid(worker);
                ParanoidPirateLog.InvalidWorkerMessage(_logger, worker, problem!);
                PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "source", "worker"));
                Raise(QueueEventKind.InvalidMessage, worker);
                break;
        }

        DispatchRequeued();
    }

    /// <summary>Forgets every worker and request (shutdown). Returns how many workers were known.</summary>
    public int Shutdown()
    {
        _backlog.Clear();
        _flow.Clear();
        int known = _registry.Clear();
        PirateMetrics.WorkersAlive.Add(-known, PirateMetrics.Queue(PirateMetrics.Paranoid));
        return known;
    }

    private void OnReady(RoutingKey worker)
    {
        var ready = _registry.OnReady(worker);
        if (ready.Outcome == ReadyOutcome.Registered)
        {
            PirateMetrics.WorkersAlive.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid));
            ParanoidPirateLog.WorkerRegistered(_logger, worker, _registry.Count);
            Raise(QueueEventKind.WorkerRegistered, worker);

            // Answer at once rather than at the next heartbeat tick: the worker's liveness clock
            // started when it connected, possibly before this queue was even running.
            if (!_sender.TrySendToWorker(PirateProtocol.Heartbeat(worker)) && _registry.Remove(worker) is { } gone)
            {
                ReportUnreachable(gone, "unreachable");
            }
        }
        else if (ready.Outcome == ReadyOutcome.WasBusy)
        {
            ParanoidPirateLog.WorkerReadyWhileBusy(_logger, worker);
            Report(worker, ready.Lost);
        }
    }

    private void OnReply(RoutingKey worker, Message message)
    {
        var outcome = _registry.OnReply(worker, message[1].Span);
        if (outcome != ReplyOutcome.Accepted)
        {
            ParanoidPirateLog.UnexpectedReply(_logger, worker, outcome);
            PirateMetrics.RepliesDropped.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", outcome switch
            {
                ReplyOutcome.NotBusy => "worker_not_busy",
                ReplyOutcome.WrongRequest => "wrong_request",
                _ => "unknown_worker",
            }));
            Raise(QueueEventKind.ReplyDropped, worker);
            return;
        }

        message.Pop();
        var client = new RoutingKey(message[0]);
        if (_backlog.Send(client, message) != PeerSendResult.Unreachable)
        {
            // Sent, or held until the client reads again.
            PirateMetrics.RepliesRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid));
        }
        else
        {
            ParanoidPirateLog.ReplyDropped(_logger, client, "client_gone");
            PirateMetrics.RepliesDropped.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", "client_gone"));
        }

        Raise(QueueEventKind.ReplyRouted, worker);
    }

    private void Dispatch(PendingRequest<Message> request)
    {
        if (!_registry.TryDispatch(request, out var worker))
        {
            // Not reached: requests are only read or taken while a worker is free.
            throw new InvalidOperationException("No free worker to dispatch to.");
        }

        var outgoing = new Message(request.Payload.Count + 1).Append(worker.Memory);
        foreach (var frame in request.Payload)
        {
            outgoing.Append(frame);
        }

        if (_sender.TrySendToWorker(outgoing))
        {
            PirateMetrics.RequestsRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid));
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                ParanoidPirateLog.RequestDispatched(_logger, request.Client, worker);
            }

            Raise(QueueEventKind.RequestDispatched, worker);
            return;
        }

        // The request never left: it goes back to the head of the requeued list, not counted as a delivery.
        if (_registry.Remove(worker, requestDelivered: false) is { } removed)
        {
            ReportUnreachable(removed, "unreachable");
        }
    }

    private void DispatchRequeued()
    {
        // Bounded: each pass either occupies a free worker or removes an unreachable one.
        while (_registry.TryTakeRequeued(out var request))
        {
            Dispatch(request);
        }
    }

    private void SendHeartbeats()
    {
        _scratch.Clear();
        foreach (var worker in _registry.Workers)
        {
            // Busy workers are heartbeated too, so they do not take a long request for a dead queue.
            if (!_sender.TrySendToWorker(PirateProtocol.Heartbeat(worker)))
            {
                _scratch.Add(worker);
            }
        }

        foreach (var worker in _scratch)
        {
            if (_registry.Remove(worker) is { } removed)
            {
                ReportUnreachable(removed, "unreachable");
            }
        }
    }

    private void ExpireWorkers()
    {
        foreach (var removed in _registry.CollectExpired())
        {
            PirateMetrics.WorkersAlive.Add(-1, PirateMetrics.Queue(PirateMetrics.Paranoid));
            PirateMetrics.WorkersExpired.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", "heartbeat"));
            ParanoidPirateLog.WorkerExpired(_logger, removed.Worker, removed.State, _options.Heartbeat.ExpiryTimeout.TotalMilliseconds);
            Raise(QueueEventKind.WorkerExpired, removed.Worker);
            Callback.Invoke(_options.OnWorkerExpired, new WorkerExpiredArguments(removed.Worker.Memory, null, "expired"), _logger, nameof(_options.OnWorkerExpired));
            Report(removed.Worker, removed.Lost);
        }
    }

    /// <param name="removed">The worker taken off the books.</param>
    /// <param name="reason">"unreachable" (a send failed) or "connection_lost" (its peer event): the metric tag and callback reason.</param>
    private void ReportUnreachable(RemovedWorker removed, string reason)
    {
        PirateMetrics.WorkersAlive.Add(-1, PirateMetrics.Queue(PirateMetrics.Paranoid));
        PirateMetrics.WorkersExpired.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", reason));
        ParanoidPirateLog.WorkerUnreachable(_logger, removed.Worker, removed.State);
        Raise(QueueEventKind.WorkerUnreachable, removed.Worker);
        Callback.Invoke(_options.OnWorkerExpired, new WorkerExpiredArguments(removed.Worker.Memory, null, reason), _logger, nameof(_options.OnWorkerExpired));
        Report(removed.Worker, removed.Lost);
    }

    private void Report(RoutingKey worker, LostRequest? lost)
    {
        if (lost is not { } loss)
        {
            return;
        }

        var client = loss.Request.Client;
        if (loss.Fate == LostRequestFate.Requeued)
        {
            PirateMetrics.RequestsRequeued.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid));
            ParanoidPirateLog.RequestRequeued(_logger, client, worker);
            Raise(QueueEventKind.RequestRequeued, worker);
            return;
        }

        PirateMetrics.RequestsAbandoned.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", loss.Fate == LostRequestFate.AbandonedTooOld ? "too_old" : "requeue_limit"));
        ParanoidPirateLog.RequestAbandoned(_logger, client, worker, loss.Fate);
        Raise(QueueEventKind.RequestAbandoned, worker);
    }

    private void DropStaleRequeued() => Abandon(_registry.DropStaleRequeued(), "too_old");

    /// <summary>A client's connection ended: its requeued requests and held replies could never reach it, so they are dropped.</summary>
    private void OnClientGone(RoutingKey client)
    {
        Abandon(_registry.DropRequeuedOf(client), "client_gone");
        int replies = _backlog.Drop(client);
        if (replies > 0)
        {
            PirateMetrics.RepliesDropped.Add(replies, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", "client_gone"));
        }

        _flow.Forget(client);
    }

    private void Abandon(IReadOnlyList<PendingRequest<Message>> requests, string reason)
    {
        foreach (var request in requests)
        {
            PirateMetrics.RequestsAbandoned.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", reason));
            ParanoidPirateLog.RequeuedRequestDropped(_logger, request.Client, reason);
            Raise(QueueEventKind.RequestAbandoned, request.Client);
        }
    }

    private void Raise(QueueEventKind kind, RoutingKey key)
    {
        try
        {
            _observed(kind, key);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A test observer must never take the queue down.
        }
    }
}
