using System.Text;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Mdp.Broker;

/// <summary>
/// The Majordomo broker's decisions, without sockets: it consumes messages as received on the
/// ROUTER (routing id first) and the passing of time, and emits messages through an
/// <see cref="IBrokerSender"/>. Split by concern: workers (<c>BrokerCore.Workers.cs</c>), clients
/// (<c>BrokerCore.Clients.cs</c>), MMI (<c>BrokerCore.Mmi.cs</c>), dispatch and timers here.
/// </summary>
/// <remarks>
/// Single-threaded: owned by the loop that receives from the socket. Time comes only from the
/// injected <see cref="TimeProvider"/>'s monotonic timestamps, so tests drive it with a manual clock.
/// </remarks>
internal sealed partial class BrokerCore : IServerCore
{
    // Enough to remember every worker of a busy broker restart; older entries just lose their silence.
    private const int SilencedCapacity = 4096;

    // Enough to diagnose a misbehaving peer; a flood of garbage is summarised instead of logged line by line.
    private const int InvalidMessageLinesPerSecond = 10;

    // The same for requests dropped one by one (refused, requeued too often): a few lines, then a summary per reason.
    private const int DropLinesPerWindow = 10;
    private static readonly TimeSpan DropLogWindow = TimeSpan.FromSeconds(10);
    private const int PeerLinesPerWindow = 50;

    private readonly BrokerOptions _options;
    private readonly IBrokerSender _sender;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BrokerMetrics _metrics;
    private readonly WorkerPool<WorkerEntry, MdpRequest> _pool;
    private readonly Dictionary<string, ServiceEntry> _services = new(StringComparer.Ordinal);
    private readonly HeartbeatTimer _heartbeat;
    private readonly SilencedPeers _silenced = new(SilencedCapacity);
    private readonly LogBudget _invalidMessageLog;
    private readonly LogBudget _dropLog;

    // Lines about one peer each (registered, expired, refused, ...): a peer that connects, registers and
    // leaves in a loop, or thousands of them, must not flood the log either.
    private readonly LogBudget _peerLog;
    private readonly FlowControl _flow;
    private readonly ReplyBacklog _backlog;
    private readonly long _halfIntervalUnits;
    private readonly long _requestExpiryUnits;
    private readonly long _intervalUnits;
    private bool _stopped;

    /// <summary>Creates the core; <paramref name="options"/> are validated here.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public BrokerCore(BrokerOptions options, IBrokerSender sender, TimeProvider timeProvider, ILogger logger, BrokerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(metrics);
        options.Validate();
        _options = options;
        _sender = sender;
        _time = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _pool = new WorkerPool<WorkerEntry, MdpRequest>(options.WorkerExpiry, options.MaxRequeues, Timeout.InfiniteTimeSpan, timeProvider);
        _heartbeat = new HeartbeatTimer(options.HeartbeatInterval, timeProvider);
        _halfIntervalUnits = ToUnits(options.HeartbeatInterval / 2);
        _requestExpiryUnits = ToUnits(options.RequestExpiry);
        _intervalUnits = ToUnits(options.HeartbeatInterval);
        _invalidMessageLog = new LogBudget(InvalidMessageLinesPerSecond, TimeSpan.FromSeconds(1), timeProvider);
        _dropLog = new LogBudget(DropLinesPerWindow, DropLogWindow, timeProvider);
        _peerLog = new LogBudget(PeerLinesPerWindow, DropLogWindow, timeProvider);
        _flow = new FlowControl(options.FlowLimits, new MeteredSwitch(sender, metrics));
        _backlog = new ReplyBacklog(sender, _flow);
    }

    /// <summary>Clients whose reading is paused by flow control now.</summary>
    public int PausedClients => _flow.PausedClients;

    /// <summary>Replies held because their clients are not reading (see <see cref="ReplyBacklog"/>).</summary>
    public int BackloggedReplies => _backlog.Count;

    /// <summary>Registered workers (ready and busy).</summary>
    public int WorkerCount => _pool.Count;

    /// <summary>Known services (each has workers or queued requests).</summary>
    public int ServiceCount => _services.Count;

    /// <summary>Requests waiting for a worker, all services together.</summary>
    public int QueuedRequestCount => _services.Values.Sum(s => s.Queue.Count);

    /// <summary>Whether <see cref="Shutdown"/> has run.</summary>
    public bool IsStopped => _stopped;

    /// <summary>Timestamp at which <see cref="OnTimer"/> must next run: a heartbeat is due, a worker expires, or held replies are to be tried again.</summary>
    public long NextDeadline => Math.Min(Math.Min(_heartbeat.DueAt, _pool.NextExpiry ?? long.MaxValue), _backlog.RetryAt(Now, _halfIntervalUnits / 50));

    /// <summary>Time until <see cref="NextDeadline"/>, zero when it has passed: the loop's receive timeout.</summary>
    /// <remarks>Rounded up, so the loop never wakes just before the deadline and spins.</remarks>
    public TimeSpan NextDeadlineIn => Timestamps.Until(_time.GetTimestamp(), NextDeadline, _time.TimestampFrequency);

    private long Now => _time.GetTimestamp();

    /// <summary>The loop's pass: the timers run only once their deadline has passed (they walk every worker).</summary>
    void IServerCore.OnPass()
    {
        if (Now >= NextDeadline)
        {
            OnTimer();
        }
    }

    /// <summary>One ROUTER for clients and workers, always read: flow control pauses single peers, not the socket.</summary>
    bool IServerCore.Accepts(int socket) => true;

    /// <summary>A message, or the end of a peer (the socket's peer events are on), from the broker's ROUTER.</summary>
    void IServerCore.OnMessage(int socket, Message message)
    {
        switch (message.PeerEvent)
        {
            case PeerEventKind.None:
                OnMessage(message);
                break;
            case PeerEventKind.Disconnected:
                OnPeerDisconnected(message[0]);
                break;
        }
    }

    /// <summary>
    /// The connection of the peer with routing id <paramref name="id"/> ended. The socket reports it
    /// in order with the peer's messages (after the last of them, and before a newer connection that
    /// takes the id over), so the id is gone now: a worker is removed at once and its request
    /// requeued, instead of at its expiry; a client's queued requests are dropped, since no reply
    /// could reach it (a client that comes back gets a new routing id, or retries).
    /// </summary>
    public void OnPeerDisconnected(ReadOnlyMemory<byte> id)
    {
        if (_stopped)
        {
            return;
        }

        if (_pool.TryGet(id.Span, out var worker))
        {
            LoseWorker(worker, WorkerRemoval.ConnectionLost);
            return;
        }

        var client = new RoutingKey(id.Span);
        DropRequestsOf(client);
        int replies = _backlog.Drop(client);
        if (replies > 0)
        {
            _metrics.ReplyDropped("client_gone", replies);
        }

        _flow.Forget(client);
    }

    private void DropRequestsOf(RoutingKey client) => DropQueued(
        "client_gone",
        queue => queue.RemoveClient(client),
        (service, removed) =>
        {
            if (_peerLog.TryTake("client_requests_dropped"))
            {
                BrokerLog.ClientRequestsDropped(_logger, removed, client, service.Name);
            }
        });

    /// <summary>
    /// Takes requests out of every service's queue with <paramref name="remove"/>, counts them as dropped
    /// for <paramref name="reason"/>, reports each service's share, and forgets services left empty.
    /// </summary>
    private void DropQueued(string reason, Func<FairRequestQueue, int> remove, Action<ServiceEntry, int> report)
    {
        List<ServiceEntry>? emptied = null;
        foreach (var service in _services.Values)
        {
            int removed = remove(service.Queue);
            if (removed > 0)
            {
                _metrics.QueueDepthChanged(service.Name, -removed);
                _metrics.RequestsDropped(reason, removed);
                report(service, removed);
                if (service.IsEmpty)
                {
                    (emptied ??= []).Add(service);
                }
            }
        }

        foreach (var service in emptied ?? [])
        {
            ForgetIfEmpty(service);
        }
    }

    private string? _senderUserId;

    /// <summary>Handles one message received on the ROUTER. Never throws for bad input from a peer.</summary>
    public void OnMessage(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_stopped)
        {
            return;
        }

        // Who the transport authenticated the sender as; read by the handlers of this one message (the loop is single-threaded).
        _senderUserId = message.UserId;
        var parsed = MdpCodec.ParseAtBroker(message);
        if (!parsed.IsSuccess)
        {
            OnInvalidMessage(parsed.Sender, parsed.Error);
            return;
        }

        switch (parsed.Command)
        {
            case ClientRequest request:
                OnClientRequest(parsed.Sender, parsed.Version, request);
                break;
            case MdpWorkerCommand command:
                OnWorkerCommand(parsed.Sender, parsed.Version, command);
                break;
        }
    }

    /// <summary>
    /// Expires silent workers (busy ones too), and once per heartbeat interval sends heartbeats and
    /// expires queued requests. Calling it early is harmless.
    /// </summary>
    public void OnTimer()
    {
        if (_stopped)
        {
            return;
        }

        ExpireWorkers();
        _backlog.Flush();
        ReportSuppressedInvalidMessages();
        foreach (var (reason, count) in _dropLog.TakeSuppressedByReason())
        {
            BrokerLog.DropsSummarised(_logger, count, DropLogWindow.TotalSeconds, reason, DropLinesPerWindow);
        }

        foreach (var (reason, count) in _peerLog.TakeSuppressedByReason())
        {
            BrokerLog.PeerLinesSummarised(_logger, count, DropLogWindow.TotalSeconds, reason, PeerLinesPerWindow);
        }

        if (_heartbeat.TryFire())
        {
            SendHeartbeats();
            ExpireRequests();
            _silenced.Prune(Now);
        }
    }

    /// <summary>Graceful stop: DISCONNECT to every worker, queued requests dropped (clients retry). Idempotent.</summary>
    public void Shutdown()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        int queued = QueuedRequestCount;
        BrokerLog.Stopping(_logger, _pool.Count, queued);
        foreach (var worker in _pool.Workers)
        {
            // Best effort: a worker that is already gone needs no goodbye.
            SendToWorker(worker, MdpCodec.BuildToWorker(worker.Id.Memory, WorkerDisconnect.Instance, worker.Version));
            _metrics.DisconnectSent("shutdown");
        }

        foreach (var service in _services.Values)
        {
            _metrics.WorkersChanged(service.Name, -service.WorkerCount);
            _metrics.QueueDepthChanged(service.Name, -service.Queue.Clear());
        }

        _metrics.RequestsDropped("shutdown", queued);
        _pool.Clear();
        _services.Clear();
        _silenced.Clear();
        _backlog.Clear();
        _flow.Clear();
    }

    /// <summary>The state of the worker with routing id <paramref name="id"/>, or null if it is not registered.</summary>
    internal WorkerState? FindWorkerState(ReadOnlySpan<byte> id) =>
        _pool.TryGet(id, out var worker) ? worker.State : null;

    /// <summary>The service named <paramref name="name"/>, or null if it is not known.</summary>
    internal ServiceEntry? FindService(string name) => _services.GetValueOrDefault(name);

    /// <summary>
    /// Gives queued requests of <paramref name="service"/> to its idle workers, least recently used
    /// first, then forgets the service if it has become empty.
    /// </summary>
    private void Dispatch(ServiceEntry service)
    {
        // Bounded: every pass removes an idle worker from the list (to work, or gone).
        while (service.Queue.Count > 0 && service.Idle.First is { } node)
        {
            var worker = node.Value;
            if (_pool.IsExpired(worker))
            {
                // Never hand a request to a worker whose deadline has passed (docs/wire/mdp.md §10).
                RemoveWorker(worker, WorkerRemoval.Expired);
                continue;
            }

            service.Queue.TryDequeue(out var request);
            _metrics.QueueDepthChanged(service.Name, -1);
            var body = request.Payload.TraceFrame.IsEmpty && !MdpTelemetry.Broker.HasListeners() ? request.Payload.Body : TraceDispatch(service, worker, request);
            var message = MdpCodec.BuildToWorker(worker.Id.Memory, new WorkerRequest(request.Client.Memory, body), worker.Version);
            if (SendToWorker(worker, message) != PeerSendResult.Sent)
            {
                // Never delivered, so it does not count as a requeue.
                service.Queue.EnqueueFront(request);
                _metrics.QueueDepthChanged(service.Name, 1);
                RemoveWorker(worker, WorkerRemoval.Unreachable);
                continue;
            }

            _pool.StartWork(worker, request);
            _metrics.RequestDispatched();
        }

        ForgetIfEmpty(service);
    }

    private ServiceEntry? GetOrCreateService(string name)
    {
        if (_services.TryGetValue(name, out var service))
        {
            return service;
        }

        if (_services.Count >= _options.MaxServices)
        {
            return null;
        }

        service = new ServiceEntry(name, _flow);
        _services.Add(name, service);
        BrokerLog.ServiceCreated(_logger, name);
        return service;
    }

    private void ForgetIfEmpty(ServiceEntry service)
    {
        if (service.IsEmpty && _services.TryGetValue(service.Name, out var current) && current == service)
        {
            _services.Remove(service.Name);
            BrokerLog.ServiceForgotten(_logger, service.Name);
        }
    }

    private void ExpireWorkers()
    {
        foreach (var worker in _pool.CollectExpired())
        {
            // A worker lost earlier in this pass is already gone.
            if (worker.State != WorkerState.Expired)
            {
                LoseWorker(worker, WorkerRemoval.Expired);
            }
        }
    }

    private void SendHeartbeats()
    {
        // Only workers that were sent nothing for half an interval: any message counts as a heartbeat,
        // and the gap a worker sees stays below 1.5 intervals.
        long cutoff = Now - _halfIntervalUnits;
        List<WorkerEntry>? unreachable = null;
        foreach (var worker in _pool.Workers)
        {
            if (worker.LastSentAt > cutoff)
            {
                continue;
            }

            var result = SendToWorker(worker, MdpCodec.BuildToWorker(worker.Id.Memory, WorkerHeartbeat.Instance, worker.Version));
            if (result == PeerSendResult.Unreachable)
            {
                // The connection is gone: this is how a busy worker that disconnected is found within an interval.
                (unreachable ??= []).Add(worker);
            }
        }

        foreach (var worker in unreachable ?? [])
        {
            LoseWorker(worker, WorkerRemoval.Unreachable);
        }
    }

    private void ExpireRequests()
    {
        long cutoff = Now - _requestExpiryUnits;
        DropQueued(
            "expired",
            queue => queue.RemoveQueuedBefore(cutoff),
            (service, removed) => BrokerLog.RequestsExpired(_logger, removed, service.Name, _options.RequestExpiry.TotalMilliseconds));
    }

    private PeerSendResult SendToWorker(WorkerEntry worker, Message message)
    {
        var result = _sender.TrySend(message);
        if (result == PeerSendResult.Sent)
        {
            worker.LastSentAt = Now;
        }

        return result;
    }

    private long ToUnits(TimeSpan duration) => Timestamps.ToUnits(duration, _time.TimestampFrequency);

    private static int Utf8Length(string text) => Encoding.UTF8.GetByteCount(text);

    /// <summary>Counts every pause on the way to the socket.</summary>
    private sealed class MeteredSwitch(IFlowSwitch socket, BrokerMetrics metrics) : IFlowSwitch
    {
        public void Pause(RoutingKey client)
        {
            metrics.ClientPaused();
            socket.Pause(client);
        }

        public void Resume(RoutingKey client) => socket.Resume(client);
    }

    private static string Hex(ReadOnlyMemory<byte> id) => id.IsEmpty ? "(none)" : Convert.ToHexString(id.Span);
}
