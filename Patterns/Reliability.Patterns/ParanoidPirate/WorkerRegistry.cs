using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>How a READY changed the registry.</summary>
internal enum ReadyOutcome
{
    /// <summary>A new worker.</summary>
    Registered,

    /// <summary>A worker that was already free (a repeated READY): only its liveness was refreshed.</summary>
    AlreadyReady,

    /// <summary>A busy worker announced itself again: it restarted or gave up its request, which is now lost.</summary>
    WasBusy,
}

/// <summary>How a reply from a worker was judged.</summary>
internal enum ReplyOutcome
{
    /// <summary>The worker was busy: the reply answers its request, and the worker is free again.</summary>
    Accepted,

    /// <summary>The worker is known but holds no request (e.g. its request was already requeued): the reply is dropped.</summary>
    NotBusy,

    /// <summary>The worker is unknown (expired, or a queue restart happened): the reply is dropped.</summary>
    UnknownWorker,

    /// <summary>
    /// The worker is busy, but the reply is addressed to another client than the request it holds
    /// (an answer to an older, already given-up request): the reply is dropped, the worker stays busy.
    /// </summary>
    WrongRequest,
}

/// <summary>A request lost with its worker, and what the registry decided to do with it.</summary>
internal readonly record struct LostRequest(PendingRequest<Message> Request, LostRequestFate Fate);

/// <summary>The result of a READY.</summary>
internal readonly record struct ReadyResult(ReadyOutcome Outcome, LostRequest? Lost);

/// <summary>A worker removed from the registry (expired or unreachable) and the request it held, if any.</summary>
internal readonly record struct RemovedWorker(RoutingKey Worker, WorkerState State, LostRequest? Lost);

/// <summary>
/// The Paranoid Pirate queue's decisions, without sockets: which workers exist, which are free
/// (least recently used first), who holds which request, who expired, and what happens to the
/// requests of dead workers. The queue loop feeds it messages and does what it says.
/// </summary>
/// <remarks>
/// <para>An explicit state machine (docs/wire/ppp.md §7, NetMQ/Samples#13): READY or an accepted reply makes
/// a worker Ready; a dispatch makes it Busy; a heartbeat only refreshes liveness, so a busy worker
/// is never handed a second request. Every worker, busy ones included, has a deadline in a
/// <see cref="LivenessTracker{TKey}"/>, and every expired one is found wherever it sits (docs/wire/ppp.md §8,
/// zguide#91, majordomo#45).</para>
/// <para>Lost requests are requeued rather than only left to the client's retry, because a client
/// without a retry loop (a plain REQ) would otherwise wait forever; the requeue count and age
/// limits stop a poison request from killing every worker and stop replaying requests whose
/// client has long retried. A requeued request is served before new client requests.</para>
/// <para>Not thread-safe: owned by the queue loop. Timestamps come from the injected clock.</para>
/// </remarks>
internal sealed class WorkerRegistry
{
    private readonly LinkedList<QueueWorker> _ready = new();
    private readonly RequeuedRequests _requeued = new();
    private readonly WorkerPool<QueueWorker, Message> _pool;
    private readonly TimeProvider _time;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="expiryTimeout">Silence after which a worker is dead (heartbeat interval × liveness).</param>
    /// <param name="maxRequeues">How many times a lost request may be handed to another worker (0 = never).</param>
    /// <param name="requeueMaxAge">A lost request older than this (since the frontend received it) is dropped instead.</param>
    /// <param name="timeProvider">Clock.</param>
    public WorkerRegistry(TimeSpan expiryTimeout, int maxRequeues, TimeSpan requeueMaxAge, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requeueMaxAge, TimeSpan.Zero);
        _time = timeProvider;
        _pool = new WorkerPool<QueueWorker, Message>(expiryTimeout, maxRequeues, requeueMaxAge, timeProvider);
    }

    /// <summary>Number of known workers, ready or busy.</summary>
    public int Count => _pool.Count;

    /// <summary>Number of free workers.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>Number of workers holding a request.</summary>
    public int BusyCount => _pool.Count - _ready.Count;

    /// <summary>Number of lost requests waiting for a free worker.</summary>
    public int RequeuedCount => _requeued.Count;

    /// <summary>
    /// Whether the queue may read a new client request now: a worker is free and no requeued
    /// request is waiting for it (the queue only reads its frontend when it can dispatch at once).
    /// </summary>
    public bool CanAcceptClientRequest => _ready.Count > 0 && _requeued.Count == 0;

    /// <summary>Every known worker, ready and busy: the heartbeat recipients (busy ones need them most).</summary>
    public IEnumerable<RoutingKey> Workers => _pool.Workers.Select(w => w.Id);

    /// <summary>Time until the next worker deadline or requeued-request age limit, or null when there is none.</summary>
    public TimeSpan? NextDeadlineIn
    {
        get
        {
            long next = _pool.NextExpiry ?? long.MaxValue;
            foreach (var request in _requeued)
            {
                next = Math.Min(next, _pool.RequeueDeadline(request));
            }

            return next == long.MaxValue ? null : Timestamps.Until(_time.GetTimestamp(), next, _time.TimestampFrequency);
        }
    }

    /// <summary>The state of <paramref name="worker"/>, if known.</summary>
    public bool TryGetState(RoutingKey worker, out WorkerState state)
    {
        bool known = _pool.TryGet(worker.Span, out var entry);
        state = known ? entry.State : default;
        return known;
    }

    /// <summary>Handles READY: registers a new worker, or frees a busy one whose request is then lost.</summary>
    public ReadyResult OnReady(RoutingKey worker)
    {
        if (!_pool.TryGet(worker.Span, out var entry))
        {
            _pool.Add(new QueueWorker(worker, _ready));
            return new ReadyResult(ReadyOutcome.Registered, null);
        }

        _pool.Touch(entry);
        if (entry.State == WorkerState.Ready)
        {
            return new ReadyResult(ReadyOutcome.AlreadyReady, null);
        }

        var request = _pool.MakeReady(entry)!;
        return new ReadyResult(ReadyOutcome.WasBusy, Lose(request));
    }

    /// <summary>Handles HEARTBEAT: refreshes a known worker's deadline and nothing else. False for an unknown worker (it must send READY first).</summary>
    public bool OnHeartbeat(RoutingKey worker) => TouchKnown(worker);

    /// <summary>
    /// Handles a reply addressed to <paramref name="client"/> (its first envelope frame): accepted
    /// only from a busy worker whose request came from that client; the worker then becomes the
    /// most recently used free worker.
    /// </summary>
    public ReplyOutcome OnReply(RoutingKey worker, ReadOnlySpan<byte> client)
    {
        if (!_pool.TryGet(worker.Span, out var entry))
        {
            return ReplyOutcome.UnknownWorker;
        }

        _pool.Touch(entry);
        if (entry.State != WorkerState.Busy)
        {
            return ReplyOutcome.NotBusy;
        }

        if (!entry.Request!.Client.Equals(client))
        {
            return ReplyOutcome.WrongRequest;
        }

        _pool.MakeReady(entry);
        return ReplyOutcome.Accepted;
    }

    /// <summary>A malformed message from <paramref name="worker"/> still proves it is alive. Returns whether it is known.</summary>
    public bool OnInvalid(RoutingKey worker) => TouchKnown(worker);

    /// <summary>
    /// Hands <paramref name="request"/> to the least recently used free worker, which becomes busy.
    /// False when no worker is free.
    /// </summary>
    public bool TryDispatch(PendingRequest<Message> request, out RoutingKey worker)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_ready.First is not { } first)
        {
            worker = default;
            return false;
        }

        _pool.StartWork(first.Value, request);
        worker = first.Value.Id;
        return true;
    }

    /// <summary>Takes the oldest requeued request, when a worker is free to take it.</summary>
    public bool TryTakeRequeued(out PendingRequest<Message> request)
    {
        if (_ready.Count == 0 || _requeued.First is not { } first)
        {
            request = null!;
            return false;
        }

        _requeued.Remove(first);
        request = first.Value;
        return true;
    }

    /// <summary>Removes and returns every worker whose deadline passed, busy or not, with the fate of its request.</summary>
    public IReadOnlyList<RemovedWorker> CollectExpired()
    {
        var expired = _pool.CollectExpired();
        var removed = new List<RemovedWorker>(expired.Count);
        foreach (var entry in expired)
        {
            removed.Add(RemoveEntry(entry, requestDelivered: true));
        }

        return removed;
    }

    /// <summary>
    /// Removes a worker that cannot be reached (its connection is gone). When
    /// <paramref name="requestDelivered"/> is false, the request it was just given never left the
    /// queue: it goes back to the head of the requeued list without counting as a requeue.
    /// </summary>
    public RemovedWorker? Remove(RoutingKey worker, bool requestDelivered = true) =>
        _pool.TryGet(worker.Span, out var entry) ? RemoveEntry(entry, requestDelivered) : null;

    /// <summary>Drops requeued requests that have grown older than the age limit while waiting for a worker.</summary>
    public IReadOnlyList<PendingRequest<Message>> DropStaleRequeued()
    {
        long now = _time.GetTimestamp();
        return DropRequeuedWhere(request => _pool.IsTooOld(request, now));
    }

    /// <summary>Drops the requeued requests of <paramref name="client"/>, whose connection ended: no reply could reach it.</summary>
    public IReadOnlyList<PendingRequest<Message>> DropRequeuedOf(RoutingKey client) =>
        DropRequeuedWhere(request => request.Client.Equals(client));

    private List<PendingRequest<Message>> DropRequeuedWhere(Func<PendingRequest<Message>, bool> drop)
    {
        List<PendingRequest<Message>>? dropped = null;
        var node = _requeued.First;

        // Bounded by the list length; each node is visited once.
        while (node is not null)
        {
            var next = node.Next;
            if (drop(node.Value))
            {
                _requeued.Remove(node);
                (dropped ??= []).Add(node.Value);
            }

            node = next;
        }

        return dropped ?? [];
    }

    /// <summary>Forgets every worker and request (shutdown). Returns how many workers were known.</summary>
    public int Clear()
    {
        _requeued.Clear();
        return _pool.Clear();
    }

    private bool TouchKnown(RoutingKey worker)
    {
        if (!_pool.TryGet(worker.Span, out var entry))
        {
            return false;
        }

        _pool.Touch(entry);
        return true;
    }

    private RemovedWorker RemoveEntry(QueueWorker entry, bool requestDelivered)
    {
        var state = entry.State;
        LostRequest? lost = null;
        if (_pool.Remove(entry) is { } request)
        {
            if (requestDelivered)
            {
                lost = Lose(request);
            }
            else
            {
                // It never left: back to the head as it was, not counted as a requeue.
                _requeued.AddFirst(request.Node);
                lost = new LostRequest(request, LostRequestFate.Requeued);
            }
        }

        return new RemovedWorker(entry.Id, state, lost);
    }

    private LostRequest Lose(PendingRequest<Message> request) => new(request, _pool.Requeue(request, _requeued));

    /// <summary>A worker of the queue: nothing beyond what the pool tracks.</summary>
    private sealed class QueueWorker(RoutingKey id, LinkedList<QueueWorker> idle) : PooledWorker<QueueWorker, Message>(id, idle);

    /// <summary>
    /// Requests lost with their workers, oldest first. New client requests wait in the frontend
    /// socket, not here, so every entry is ahead of them.
    /// </summary>
    private sealed class RequeuedRequests : LinkedList<PendingRequest<Message>>, IRequeueTarget<Message>
    {
        public void Requeue(PendingRequest<Message> request) => AddLast(request.Node);
    }
}
