using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.Queueing;

/// <summary>
/// The requeue/LRU bookkeeping every load-balancing server shares (the Paranoid Pirate queue and the
/// Majordomo broker): known workers by routing id, idle ones in least-recently-used order, the
/// request in flight at each busy one, a deadline per worker whatever its state, and the fate of
/// the request of a worker that died.
/// </summary>
/// <remarks>
/// <para>Every worker, busy ones included, has a deadline in one <see cref="LivenessTracker{TKey}"/>,
/// and <see cref="CollectExpired"/> finds every expired one wherever it sits (docs/wire/ppp.md §8).
/// A lost request goes back to the head of its queue, at most <c>maxRequeues</c> times and only
/// while younger than <c>requeueMaxAge</c>: a request that kills workers must not kill them all,
/// and a request whose client has long retried is not replayed.</para>
/// <para>Decisions only: the owner sends, logs and counts. Not thread-safe: owned by one loop.
/// Timestamps come from the injected clock.</para>
/// </remarks>
/// <typeparam name="TWorker">The protocol's worker type.</typeparam>
/// <typeparam name="TPayload">The payload of the requests the workers take.</typeparam>
internal sealed class WorkerPool<TWorker, TPayload>
    where TWorker : PooledWorker<TWorker, TPayload>
{
    private readonly Dictionary<RoutingKey, TWorker> _workers = new(RoutingKeyComparer.Instance);
    private readonly Dictionary<RoutingKey, TWorker>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly LivenessTracker<RoutingKey> _liveness;
    private readonly TimeProvider _time;
    private readonly int _maxRequeues;
    private readonly long _requeueMaxAgeUnits;

    /// <summary>Creates an empty pool.</summary>
    /// <param name="expiry">Silence after which a worker is dead.</param>
    /// <param name="maxRequeues">How many times a lost request may go back to the queue (0 = never).</param>
    /// <param name="requeueMaxAge">A lost request older than this (since it was received) is dropped instead; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="timeProvider">Clock.</param>
    public WorkerPool(TimeSpan expiry, int maxRequeues, TimeSpan requeueMaxAge, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRequeues);
        if (requeueMaxAge != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requeueMaxAge, TimeSpan.Zero);
        }

        _time = timeProvider;
        _lookup = _workers.GetAlternateLookup<ReadOnlySpan<byte>>();
        _liveness = new LivenessTracker<RoutingKey>(expiry, timeProvider, RoutingKeyComparer.Instance);
        _maxRequeues = maxRequeues;
        _requeueMaxAgeUnits = requeueMaxAge == Timeout.InfiniteTimeSpan ? long.MaxValue : Timestamps.ToUnits(requeueMaxAge, timeProvider.TimestampFrequency);
    }

    /// <summary>Known workers, ready and busy.</summary>
    public int Count => _workers.Count;

    /// <summary>Every known worker, ready and busy (the heartbeat recipients: busy ones need them most).</summary>
    public Dictionary<RoutingKey, TWorker>.ValueCollection Workers => _workers.Values;

    /// <summary>Earliest worker deadline, or null when no worker is known.</summary>
    public long? NextExpiry => _liveness.NextExpiry;

    /// <summary>The worker with routing id <paramref name="id"/> (the received routing frame), without allocating a key.</summary>
    public bool TryGet(ReadOnlySpan<byte> id, out TWorker worker) => _lookup.TryGetValue(id, out worker!);

    /// <summary>Registers a new worker: alive from now, and the most recently used of its idle list.</summary>
    /// <exception cref="ArgumentException">A worker with that id is already known.</exception>
    public void Add(TWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        _workers.Add(worker.Id, worker);
        _liveness.Touch(worker.Id);
        worker.Idle.AddLast(worker.IdleNode);
    }

    /// <summary>Any message from <paramref name="worker"/> proves it alive until one expiry from now.</summary>
    public void Touch(TWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        _liveness.Touch(worker.Id);
    }

    /// <summary>Whether <paramref name="worker"/>'s deadline has passed (never hand a request to such a worker).</summary>
    public bool IsExpired(TWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        return !_liveness.TryGetExpiresAt(worker.Id, out long expiresAt) || expiresAt <= _time.GetTimestamp();
    }

    /// <summary>Hands <paramref name="request"/> to an idle worker, which leaves its idle list and becomes busy.</summary>
    /// <exception cref="InvalidOperationException">The worker is not idle.</exception>
    public void StartWork(TWorker worker, PendingRequest<TPayload> request)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(request);
        if (worker.State != WorkerState.Ready)
        {
            throw new InvalidOperationException($"A {worker.State} worker cannot take a request.");
        }

        if (worker.IdleNode.List is not null)
        {
            worker.Idle.Remove(worker.IdleNode);
        }

        worker.State = WorkerState.Busy;
        worker.Request = request;
    }

    /// <summary>
    /// The worker is free again (its request is answered, or it announced itself afresh): it becomes the
    /// most recently used of its idle list, and the request it held, if any, is returned. A worker that
    /// was already idle keeps its place, so a repeated READY cannot list it twice.
    /// </summary>
    public PendingRequest<TPayload>? MakeReady(TWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        var request = worker.Request;
        worker.Request = null;
        worker.State = WorkerState.Ready;
        if (worker.IdleNode.List is null)
        {
            worker.Idle.AddLast(worker.IdleNode);
        }

        return request;
    }

    /// <summary>Forgets a worker (state <see cref="WorkerState.Expired"/>) and returns the request it was working on, if any.</summary>
    public PendingRequest<TPayload>? Remove(TWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        if (worker.IdleNode.List is not null)
        {
            worker.Idle.Remove(worker.IdleNode);
        }

        var request = worker.Request;
        worker.Request = null;
        worker.State = WorkerState.Expired;
        _workers.Remove(worker.Id);
        _liveness.Remove(worker.Id);
        return request;
    }

    /// <summary>The workers whose deadline passed, busy or not; they stay known until the owner removes them.</summary>
    public List<TWorker> CollectExpired()
    {
        var expired = _liveness.CollectExpired();
        var workers = new List<TWorker>(expired.Count);
        foreach (var id in expired)
        {
            if (_workers.TryGetValue(id, out var worker))
            {
                workers.Add(worker);
            }
        }

        return workers;
    }

    /// <summary>
    /// Decides the fate of a request whose worker was lost after it was delivered: back to the head of
    /// <paramref name="queue"/> (counted as a requeue, queued from now), or dropped for its age or its
    /// requeue count. A request that never left (its send failed) is not judged: the owner puts it back as it was.
    /// </summary>
    public LostRequestFate Requeue(PendingRequest<TPayload> request, IRequeueTarget<TPayload> queue)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(queue);
        long now = _time.GetTimestamp();
        if (IsTooOld(request, now))
        {
            return LostRequestFate.AbandonedTooOld;
        }

        if (request.Requeues >= _maxRequeues)
        {
            return LostRequestFate.AbandonedRequeueLimit;
        }

        request.Requeues++;
        request.QueuedAt = now;
        queue.Requeue(request);
        return LostRequestFate.Requeued;
    }

    /// <summary>The timestamp after which a lost <paramref name="request"/> is too old to requeue, or <see cref="long.MaxValue"/> without an age limit.</summary>
    public long RequeueDeadline(PendingRequest<TPayload> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _requeueMaxAgeUnits == long.MaxValue ? long.MaxValue : request.ReceivedAt + _requeueMaxAgeUnits;
    }

    /// <summary>Whether <paramref name="request"/> is older than the requeue age limit at <paramref name="now"/>.</summary>
    public bool IsTooOld(PendingRequest<TPayload> request, long now) => now > RequeueDeadline(request);

    /// <summary>Forgets every worker (shutdown); each moves to <see cref="WorkerState.Expired"/>. Returns how many were known.</summary>
    public int Clear()
    {
        int count = _workers.Count;
        foreach (var worker in _workers.Values)
        {
            if (worker.IdleNode.List is not null)
            {
                worker.Idle.Remove(worker.IdleNode);
            }

            worker.Request = null;
            worker.State = WorkerState.Expired;
        }

        _workers.Clear();
        _liveness.Clear();
        return count;
    }
}
