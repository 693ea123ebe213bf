using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>Where a worker stands with the queue. Expired workers are removed, so they have no state.</summary>
internal enum WorkerState
{
    /// <summary>Free: in the least-recently-used list, may receive the next request.</summary>
    Ready,

    /// <summary>Holding exactly one request; gets no other until it replies or says READY again.</summary>
    Busy,
}

/// <summary>What became of a request whose worker died or restarted before replying.</summary>
internal enum LostRequestFate
{
    /// <summary>Queued again; the next free worker gets it before any new client request.</summary>
    Requeued,

    /// <summary>Dropped: it was already handed to workers more than the configured number of requeues (a request that kills workers must not kill them all).</summary>
    AbandonedRequeueLimit,

    /// <summary>Dropped: it is older than the requeue age limit, so its client has retried or given up.</summary>
    AbandonedTooOld,
}

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

/// <summary>A client request as received on the frontend: <c>[client…][""][body…]</c> plus bookkeeping.</summary>
/// <remarks>
/// <see cref="Frames"/> is never handed to a socket (sending consumes a message); each dispatch
/// copies the frame list, so the request can be requeued after its worker died.
/// </remarks>
internal sealed class PendingRequest(Message frames, long receivedAt)
{
    /// <summary>The client's envelope and body; frames are shared read-only memory.</summary>
    public Message Frames { get; } = frames;

    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) at which the frontend received it.</summary>
    public long ReceivedAt { get; } = receivedAt;

    /// <summary>How many times the request was delivered to a worker.</summary>
    public int Dispatches { get; set; }
}

/// <summary>A request lost with its worker, and what the registry decided to do with it.</summary>
internal readonly record struct LostRequest(PendingRequest Request, LostRequestFate Fate);

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
    private readonly Dictionary<RoutingKey, Worker> _workers = new(RoutingKeyComparer.Instance);
    private readonly LinkedList<RoutingKey> _ready = new();
    private readonly LinkedList<PendingRequest> _requeued = new();
    private readonly LivenessTracker<RoutingKey> _liveness;
    private readonly TimeProvider _time;
    private readonly int _maxRequeues;
    private readonly long _requeueMaxAgeUnits;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="expiryTimeout">Silence after which a worker is dead (heartbeat interval × liveness).</param>
    /// <param name="maxRequeues">How many times a lost request may be handed to another worker (0 = never).</param>
    /// <param name="requeueMaxAge">A lost request older than this (since the frontend received it) is dropped instead.</param>
    /// <param name="timeProvider">Clock.</param>
    public WorkerRegistry(TimeSpan expiryTimeout, int maxRequeues, TimeSpan requeueMaxAge, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRequeues);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requeueMaxAge, TimeSpan.Zero);
        _time = timeProvider;
        _liveness = new LivenessTracker<RoutingKey>(expiryTimeout, timeProvider, RoutingKeyComparer.Instance);
        _maxRequeues = maxRequeues;
        _requeueMaxAgeUnits = Timestamps.ToUnits(requeueMaxAge, timeProvider.TimestampFrequency);
    }

    /// <summary>Number of known workers, ready or busy.</summary>
    public int Count => _workers.Count;

    /// <summary>Number of free workers.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>Number of workers holding a request.</summary>
    public int BusyCount => _workers.Count - _ready.Count;

    /// <summary>Number of lost requests waiting for a free worker.</summary>
    public int RequeuedCount => _requeued.Count;

    /// <summary>
    /// Whether the queue may read a new client request now: a worker is free and no requeued
    /// request is waiting for it (the queue only reads its frontend when it can dispatch at once).
    /// </summary>
    public bool CanAcceptClientRequest => _ready.Count > 0 && _requeued.Count == 0;

    /// <summary>Every known worker, ready and busy: the heartbeat recipients (busy ones need them most).</summary>
    public IEnumerable<RoutingKey> Workers => _workers.Keys;

    /// <summary>Time until the next worker deadline or requeued-request age limit, or null when there is none.</summary>
    public TimeSpan? NextDeadlineIn
    {
        get
        {
            long? next = _liveness.NextExpiry;
            foreach (var request in _requeued)
            {
                long tooOld = request.ReceivedAt + _requeueMaxAgeUnits;
                next = next is long n ? Math.Min(n, tooOld) : tooOld;
            }

            if (next is not long deadline)
            {
                return null;
            }

            return Timestamps.Until(_time.GetTimestamp(), deadline, _time.TimestampFrequency);
        }
    }

    /// <summary>The state of <paramref name="worker"/>, if known.</summary>
    public bool TryGetState(RoutingKey worker, out WorkerState state)
    {
        if (_workers.TryGetValue(worker, out var entry))
        {
            state = entry.State;
            return true;
        }

        state = default;
        return false;
    }

    /// <summary>Handles READY: registers a new worker, or frees a busy one whose request is then lost.</summary>
    public ReadyResult OnReady(RoutingKey worker)
    {
        _liveness.Touch(worker);
        if (!_workers.TryGetValue(worker, out var entry))
        {
            entry = new Worker(worker);
            _workers.Add(worker, entry);
            MakeReady(entry);
            return new ReadyResult(ReadyOutcome.Registered, null);
        }

        if (entry.State == WorkerState.Ready)
        {
            return new ReadyResult(ReadyOutcome.AlreadyReady, null);
        }

        var request = entry.Request!;
        MakeReady(entry);
        return new ReadyResult(ReadyOutcome.WasBusy, Lose(request));
    }

    /// <summary>Handles HEARTBEAT: refreshes a known worker's deadline and nothing else. False for an unknown worker (it must send READY first).</summary>
    public bool OnHeartbeat(RoutingKey worker)
    {
        if (!_workers.ContainsKey(worker))
        {
            return false;
        }

        _liveness.Touch(worker);
        return true;
    }

    /// <summary>
    /// Handles a reply addressed to <paramref name="client"/> (its first envelope frame): accepted
    /// only from a busy worker whose request came from that client; the worker then becomes the
    /// most recently used free worker.
    /// </summary>
    public ReplyOutcome OnReply(RoutingKey worker, ReadOnlySpan<byte> client)
    {
        if (!_workers.TryGetValue(worker, out var entry))
        {
            return ReplyOutcome.UnknownWorker;
        }

        _liveness.Touch(worker);
        if (entry.State != WorkerState.Busy)
        {
            return ReplyOutcome.NotBusy;
        }

        if (!entry.Request!.Frames[0].Span.SequenceEqual(client))
        {
            return ReplyOutcome.WrongRequest;
        }

        MakeReady(entry);
        return ReplyOutcome.Accepted;
    }

    /// <summary>A malformed message from <paramref name="worker"/> still proves it is alive. Returns whether it is known.</summary>
    public bool OnInvalid(RoutingKey worker)
    {
        if (!_workers.ContainsKey(worker))
        {
            return false;
        }

        _liveness.Touch(worker);
        return true;
    }

    /// <summary>
    /// Hands <paramref name="request"/> to the least recently used free worker, which becomes busy.
    /// False when no worker is free.
    /// </summary>
    public bool TryDispatch(PendingRequest request, out RoutingKey worker)
    {
        ArgumentNullException.ThrowIfNull(request);
        var first = _ready.First;
        if (first is null)
        {
            worker = default;
            return false;
        }

        worker = first.Value;
        var entry = _workers[worker];
        _ready.Remove(first);
        entry.Node = null;
        entry.State = WorkerState.Busy;
        entry.Request = request;
        request.Dispatches++;
        return true;
    }

    /// <summary>Takes the oldest requeued request, when a worker is free to take it.</summary>
    public bool TryTakeRequeued(out PendingRequest request)
    {
        if (_ready.Count == 0 || _requeued.First is not { } first)
        {
            request = null!;
            return false;
        }

        _requeued.RemoveFirst();
        request = first.Value;
        return true;
    }

    /// <summary>Removes and returns every worker whose deadline passed, busy or not, with the fate of its request.</summary>
    public IReadOnlyList<RemovedWorker> CollectExpired()
    {
        var expired = _liveness.CollectExpired();
        if (expired.Count == 0)
        {
            return [];
        }

        var removed = new List<RemovedWorker>(expired.Count);
        foreach (var key in expired)
        {
            if (_workers.TryGetValue(key, out var entry))
            {
                removed.Add(RemoveEntry(entry, requestDelivered: true));
            }
        }

        return removed;
    }

    /// <summary>
    /// Removes a worker that cannot be reached (its connection is gone). When
    /// <paramref name="requestDelivered"/> is false, the request it was just given never left the
    /// queue: it goes back to the head of the requeued list without counting as a delivery.
    /// </summary>
    public RemovedWorker? Remove(RoutingKey worker, bool requestDelivered = true)
    {
        if (!_workers.TryGetValue(worker, out var entry))
        {
            return null;
        }

        _liveness.Remove(worker);
        return RemoveEntry(entry, requestDelivered);
    }

    /// <summary>Drops requeued requests that have grown older than the age limit while waiting for a worker.</summary>
    public IReadOnlyList<PendingRequest> DropStaleRequeued()
    {
        List<PendingRequest>? stale = null;
        long now = _time.GetTimestamp();
        var node = _requeued.First;

        // Bounded by the list length; each node is visited once.
        while (node is not null)
        {
            var next = node.Next;
            if (IsTooOld(node.Value, now))
            {
                _requeued.Remove(node);
                (stale ??= []).Add(node.Value);
            }

            node = next;
        }

        return stale ?? (IReadOnlyList<PendingRequest>)[];
    }

    /// <summary>Forgets every worker and request (shutdown). Returns how many workers were known.</summary>
    public int Clear()
    {
        int count = _workers.Count;
        _workers.Clear();
        _ready.Clear();
        _requeued.Clear();
        _liveness.Clear();
        return count;
    }

    private RemovedWorker RemoveEntry(Worker entry, bool requestDelivered)
    {
        _workers.Remove(entry.Key);
        var state = entry.State;
        if (entry.Node is { } node)
        {
            _ready.Remove(node);
            entry.Node = null;
        }

        LostRequest? lost = null;
        if (entry.Request is { } request)
        {
            entry.Request = null;
            if (requestDelivered)
            {
                lost = Lose(request);
            }
            else
            {
                request.Dispatches--;
                _requeued.AddFirst(request);
                lost = new LostRequest(request, LostRequestFate.Requeued);
            }
        }

        return new RemovedWorker(entry.Key, state, lost);
    }

    private void MakeReady(Worker entry)
    {
        entry.State = WorkerState.Ready;
        entry.Request = null;
        entry.Node ??= _ready.AddLast(entry.Key);
    }

    private LostRequest Lose(PendingRequest request)
    {
        if (IsTooOld(request, _time.GetTimestamp()))
        {
            return new LostRequest(request, LostRequestFate.AbandonedTooOld);
        }

        if (request.Dispatches > _maxRequeues)
        {
            return new LostRequest(request, LostRequestFate.AbandonedRequeueLimit);
        }

        _requeued.AddLast(request);
        return new LostRequest(request, LostRequestFate.Requeued);
    }

    private bool IsTooOld(PendingRequest request, long now) => now - request.ReceivedAt > _requeueMaxAgeUnits;

    private sealed class Worker(RoutingKey key)
    {
        public RoutingKey Key { get; } = key;

        public WorkerState State { get; set; }

        public PendingRequest? Request { get; set; }

        public LinkedListNode<RoutingKey>? Node { get; set; }
    }
}
