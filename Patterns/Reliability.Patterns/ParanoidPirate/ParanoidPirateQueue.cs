using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>Something the queue did, for tests that wait on it instead of sleeping.</summary>
internal enum QueueEventKind
{
    WorkerRegistered,
    WorkerExpired,
    WorkerUnreachable,
    RequestDispatched,
    RequestRequeued,
    RequestAbandoned,
    ReplyRouted,
    ReplyDropped,
    InvalidMessage,
}

/// <summary>
/// A Paranoid Pirate queue (PPP, RFC 6; zguide ppqueue): clients connect REQ (or DEALER with an
/// empty delimiter) sockets to the frontend ROUTER, workers connect DEALER sockets to the backend
/// ROUTER, announce themselves with READY (<c>01</c>) and exchange HEARTBEAT (<c>02</c>) with the queue.
/// </summary>
/// <remarks>
/// <para>Unlike the zguide's ppqueue, the queue keeps an explicit per-worker state (ready or busy),
/// so a heartbeat never makes a busy worker look free and no worker ever gets a second request
/// while it holds one; it heartbeats busy workers too and purges every worker whose deadline
/// passed, wherever it sits.</para>
/// <para>A request whose worker dies (expires, disconnects, or restarts and says READY again) is
/// requeued ahead of new requests, at most <see cref="ParanoidPirateQueueOptions.MaxRequeues"/>
/// times and only while younger than <see cref="ParanoidPirateQueueOptions.RequeueMaxAge"/>;
/// otherwise it is dropped with a log entry and a metric, and the client's own retry recovers it.
/// A late reply from a worker that was given up is dropped, so a client never gets two answers.</para>
/// <para>Messages that are not PPP (unknown one-frame commands, garbage) are logged, counted and
/// ignored; the queue keeps serving. Heartbeats from unknown workers are ignored: PPP requires
/// READY first, and a worker that hears nothing reconnects and sends it.</para>
/// </remarks>
public sealed class ParanoidPirateQueue : IAsyncDisposable
{
    private const int BackendBatch = 1024;

    // The byte bound of a client's held replies (see MaxHeldRepliesPerClient for the count).
    private const long MaxHeldBytesPerClient = 64L << 20;

    // How often held replies are tried again while a client is not reading.
    private static readonly TimeSpan HeldReplyRetry = TimeSpan.FromMilliseconds(10);

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly PirateQueueSockets _sockets;
    private readonly RouterSocket _frontend;
    private readonly RouterSocket _backend;
    private readonly WorkerRegistry _registry;
    private readonly ReplyBacklog _backlog;
    private readonly List<RoutingKey> _scratch = [];
    private int _workerCount;
    private int _readyCount;

    /// <summary>Creates the queue; nothing is bound until <see cref="Bind"/> or <see cref="RunAsync"/>.</summary>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">Clock for heartbeats and deadlines; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public ParanoidPirateQueue(ParanoidPirateQueueOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        options ??= new ParanoidPirateQueueOptions();
        options.Validate();
        Options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<ParanoidPirateQueue>();
        _time = timeProvider ?? TimeProvider.System;
        _registry = new WorkerRegistry(options.Heartbeat.ExpiryTimeout, options.MaxRequeues, options.RequeueMaxAge, _time);
        _sockets = new PirateQueueSockets(this, options.FrontendEndpoint, options.BackendEndpoint, loggerFactory, _time);
        _frontend = _sockets.Frontend;
        _backend = _sockets.Backend;

        // Replies for a client that is not reading are held, not dropped; the client is no longer read once
        // it has MaxHeldRepliesPerClient of them waiting (docs/wire/ppp.md, "Flow control").
        var limits = new FlowLimits(options.MaxHeldRepliesPerClient, MaxHeldBytesPerClient, int.MaxValue, long.MaxValue, int.MaxValue, long.MaxValue);
        _backlog = new ReplyBacklog(_sockets, new FlowControl(limits, _sockets));
    }

    /// <summary>The settings in use.</summary>
    public ParanoidPirateQueueOptions Options { get; }

    /// <summary>The frontend's actual endpoint (with the real port) once bound; otherwise <see langword="null"/>.</summary>
    public string? FrontendEndpoint => _sockets.FrontendEndpoint;

    /// <summary>The backend's actual endpoint (with the real port) once bound; otherwise <see langword="null"/>.</summary>
    public string? BackendEndpoint => _sockets.BackendEndpoint;

    /// <summary>Workers the queue knows, ready or busy (a snapshot updated by the queue loop).</summary>
    public int WorkerCount => Volatile.Read(ref _workerCount);

    /// <summary>Workers free to take a request (a snapshot updated by the queue loop).</summary>
    public int ReadyWorkerCount => Volatile.Read(ref _readyCount);

    /// <summary>Raised on the queue loop after each decision; tests wait on it rather than sleeping.</summary>
    internal event Action<QueueEventKind, RoutingKey>? Observed;

    /// <summary>
    /// Binds the frontend and backend endpoints (port 0 picks a free port; see
    /// <see cref="FrontendEndpoint"/>). Called by <see cref="RunAsync"/> when not done before.
    /// </summary>
    /// <exception cref="EndpointException">An endpoint is malformed or in use.</exception>
    public void Bind() => _sockets.Bind();

    /// <summary>
    /// Serves until <paramref name="cancellationToken"/> is cancelled or the queue is disposed, then
    /// closes both sockets and returns. Can be called once.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    /// <exception cref="EndpointException">An endpoint could not be bound.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default) => _sockets.RunOnceAsync(RunCoreAsync, cancellationToken);

    /// <summary>Stops the queue (if running) and closes its sockets.</summary>
    public ValueTask DisposeAsync() => _sockets.DisposeAsync();

    /// <param name="token">Cancelled by the caller's token or by <see cref="DisposeAsync"/>.</param>
    private async Task RunCoreAsync(CancellationToken token)
    {
        ParanoidPirateLog.QueueStarted(_logger, FrontendEndpoint!, BackendEndpoint!, Options.Heartbeat.Interval.TotalMilliseconds, Options.Heartbeat.Liveness);
        var heartbeat = new HeartbeatTimer(Options.Heartbeat.Interval, _time);
        var pauses = new PauseGuard(Options.Heartbeat.Interval, _time);
        try
        {
            // Bounded by cancellation: every pass waits on the poller until a message or a deadline.
            while (!token.IsCancellationRequested)
            {
                if (pauses.MayExpire())
                {
                    ExpireWorkers();
                }
                else
                {
                    ParanoidPirateLog.LoopPaused(_logger, "queue", pauses.LastPause.TotalMilliseconds);
                }

                if (heartbeat.TryFire())
                {
                    SendHeartbeats();
                }

                DropStaleRequeued();
                DispatchRequeued();
                _backlog.Flush();
                PublishCounts();

                // After a deferral, wait up to an interval (the heartbeats that arrived during the
                // pause wake the poller at once) instead of returning for a deadline already passed.
                var timeout = heartbeat.DueIn;
                if (!pauses.Deferred && _registry.NextDeadlineIn is { } deadline && deadline < timeout)
                {
                    timeout = deadline;
                }

                if (_backlog.Count > 0 && HeldReplyRetry < timeout)
                {
                    timeout = HeldReplyRetry;
                }

                // The frontend is only read when a worker can take the request at once (zguide).
                await Poller.WaitAnyAsync(_registry.CanAcceptClientRequest ? _sockets.Both : _sockets.BackendOnly, timeout, token).ConfigureAwait(false);
                await DrainBackendAsync().ConfigureAwait(false);
                await DrainFrontendAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Normal shutdown.
        }
        catch (ObjectDisposedException) when (token.IsCancellationRequested)
        {
            // A socket closed under the loop during shutdown.
        }
        finally
        {
            int known = _registry.Clear();
            PirateMetrics.WorkersAlive.Add(-known, PirateMetrics.Queue(PirateMetrics.Paranoid));
            PublishCounts();
            await _sockets.CloseAsync().ConfigureAwait(false);
            ParanoidPirateLog.QueueStopped(_logger, known);
        }
    }

    private void PublishCounts()
    {
        Volatile.Write(ref _workerCount, _registry.Count);
        Volatile.Write(ref _readyCount, _registry.ReadyCount);
    }

    private async ValueTask DrainBackendAsync()
    {
        // Bounded batch, so a flood of worker traffic cannot starve heartbeats and expiry.
        for (int i = 0; i < BackendBatch; i++)
        {
            var message = await _backend.TryReceiveAsync(TimeSpan.Zero).ConfigureAwait(false);
            if (message is null)
            {
                return;
            }

            HandleWorkerMessage(message);
        }
    }

    private async ValueTask DrainFrontendAsync()
    {
        // Bounded: each request either occupies a worker or is discarded, and at most one batch per pass.
        for (int i = 0; i < BackendBatch && _registry.CanAcceptClientRequest; i++)
        {
            var message = await _frontend.TryReceiveAsync(TimeSpan.Zero).ConfigureAwait(false);
            if (message is null)
            {
                return;
            }

            if (PirateProtocol.FindDelimiter(message, 0) < 0)
            {
                ParanoidPirateLog.InvalidClientRequest(_logger, new RoutingKey(message[0]), message.Count - 1);
                PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "source", "client"));
                Raise(QueueEventKind.InvalidMessage, new RoutingKey(message[0]));
                continue;
            }

            Dispatch(new PendingRequest<Message>(new RoutingKey(message[0]), message, _time.GetTimestamp()));
            DispatchRequeued();
        }
    }

    private void HandleWorkerMessage(Message message)
    {
        var worker = new RoutingKey(message[0]);
        switch (PirateProtocol.Classify(message, 1, out var problem))
        {
            case WorkerCommand.Ready:
                var ready = _registry.OnReady(worker);
                if (ready.Outcome == ReadyOutcome.Registered)
                {
                    PirateMetrics.WorkersAlive.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid));
                    ParanoidPirateLog.WorkerRegistered(_logger, worker, _registry.Count);
                    Raise(QueueEventKind.WorkerRegistered, worker);

                    // Answer at once rather than at the next heartbeat tick: the worker's liveness
                    // clock started when it connected, possibly before this queue was even running.
                    if (!TrySendToWorker(PirateProtocol.Heartbeat(worker)) && _registry.Remove(worker) is { } gone)
                    {
                        ReportUnreachable(gone);
                    }
                }
                else if (ready.Outcome == ReadyOutcome.WasBusy)
                {
                    ParanoidPirateLog.WorkerReadyWhileBusy(_logger, worker);
                    Report(worker, ready.Lost);
                }

                break;

            case WorkerCommand.Heartbeat:
                if (!_registry.OnHeartbeat(worker))
                {
                    ParanoidPirateLog.UnknownWorkerHeartbeat(_logger, worker);
                }

                break;

            case WorkerCommand.Reply:
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
                    break;
                }

                message.Pop();
                RouteReply(message);
                Raise(QueueEventKind.ReplyRouted, worker);
                break;

            default:
                _registry.OnInvalid(worker);
                ParanoidPirateLog.InvalidWorkerMessage(_logger, worker, problem!);
                PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "source", "worker"));
                Raise(QueueEventKind.InvalidMessage, worker);
                break;
        }
    }

    private void RouteReply(Message reply)
    {
        var client = new RoutingKey(reply[0]);
        if (_backlog.Send(client, reply) != PeerSendResult.Unreachable)
        {
            // Sent, or held until the client reads again.
            PirateMetrics.RepliesRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid));
            return;
        }

        ParanoidPirateLog.ReplyDropped(_logger, client, "client_gone");
        PirateMetrics.RepliesDropped.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", "client_gone"));
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

        if (TrySendToWorker(outgoing))
        {
            PirateMetrics.RequestsRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid));
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                ParanoidPirateLog.RequestDispatched(_logger, new RoutingKey(request.Payload[0]), worker);
            }

            Raise(QueueEventKind.RequestDispatched, worker);
            return;
        }

        // The request never left: it goes back to the head of the requeued list, not counted as a delivery.
        if (_registry.Remove(worker, requestDelivered: false) is { } removed)
        {
            ReportUnreachable(removed);
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

    private bool TrySendToWorker(Message message)
    {
        try
        {
            var sent = _backend.TrySendAsync(message, TimeSpan.Zero);

            // A full queue towards a worker means it has not read for a very long time: treat it as gone.
            return sent.IsCompletedSuccessfully && sent.Result;
        }
        catch (HostUnreachableException)
        {
            return false;
        }
    }

    private void SendHeartbeats()
    {
        _scratch.Clear();
        foreach (var worker in _registry.Workers)
        {
            // Busy workers are heartbeated too, so they do not take a long request for a dead queue.
            if (!TrySendToWorker(PirateProtocol.Heartbeat(worker)))
            {
                _scratch.Add(worker);
            }
        }

        foreach (var worker in _scratch)
        {
            if (_registry.Remove(worker) is { } removed)
            {
                ReportUnreachable(removed);
            }
        }
    }

    private void ExpireWorkers()
    {
        foreach (var removed in _registry.CollectExpired())
        {
            PirateMetrics.WorkersAlive.Add(-1, PirateMetrics.Queue(PirateMetrics.Paranoid));
            PirateMetrics.WorkersExpired.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", "heartbeat"));
            ParanoidPirateLog.WorkerExpired(_logger, removed.Worker, removed.State, Options.Heartbeat.ExpiryTimeout.TotalMilliseconds);
            Raise(QueueEventKind.WorkerExpired, removed.Worker);
            Callback.Invoke(Options.OnWorkerExpired, new WorkerExpiredArguments(removed.Worker.Memory, null, "expired"), _logger, nameof(Options.OnWorkerExpired));
            Report(removed.Worker, removed.Lost);
        }
    }

    private void ReportUnreachable(RemovedWorker removed)
    {
        PirateMetrics.WorkersAlive.Add(-1, PirateMetrics.Queue(PirateMetrics.Paranoid));
        PirateMetrics.WorkersExpired.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", "unreachable"));
        ParanoidPirateLog.WorkerUnreachable(_logger, removed.Worker, removed.State);
        Raise(QueueEventKind.WorkerUnreachable, removed.Worker);
        Callback.Invoke(Options.OnWorkerExpired, new WorkerExpiredArguments(removed.Worker.Memory, null, "unreachable"), _logger, nameof(Options.OnWorkerExpired));
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

    private void DropStaleRequeued()
    {
        foreach (var request in _registry.DropStaleRequeued())
        {
            PirateMetrics.RequestsAbandoned.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "reason", "too_old"));
            ParanoidPirateLog.RequeuedRequestExpired(_logger, new RoutingKey(request.Payload[0]));
            Raise(QueueEventKind.RequestAbandoned, request.Client);
        }
    }

    private void Raise(QueueEventKind kind, RoutingKey key)
    {
        try
        {
            Observed?.Invoke(kind, key);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A test observer must never take the queue down.
        }
    }
}
