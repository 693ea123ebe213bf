using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.Queueing;

/// <summary>
/// Where a worker is in its life at a queue or broker. Only registration and a finished request move a
/// worker to <see cref="Ready"/>; heartbeats only refresh its liveness, so a busy worker is never
/// handed a second request (docs/wire/ppp.md §7, docs/wire/mdp.md §9).
/// </summary>
internal enum WorkerState
{
    /// <summary>Idle: in its least-recently-used list, waiting for a request.</summary>
    Ready,

    /// <summary>Working on exactly one request; still heartbeating and still expiring (docs/wire/ppp.md §8).</summary>
    Busy,

    /// <summary>Terminal: expired, disconnected, unreachable or refused. The pool has forgotten it.</summary>
    Expired,
}

/// <summary>
/// A worker as a <see cref="WorkerPool{TWorker, TPayload}"/> sees it: id, state, the request in flight
/// and its place in an idle list. Protocols derive from it to add what they know (service, version).
/// </summary>
/// <typeparam name="TSelf">The deriving type, so idle lists hold it without casts.</typeparam>
/// <typeparam name="TPayload">The payload of the requests it takes.</typeparam>
internal abstract class PooledWorker<TSelf, TPayload>
    where TSelf : PooledWorker<TSelf, TPayload>
{
    /// <summary>Creates a worker that waits in <paramref name="idle"/> whenever it is free.</summary>
    protected PooledWorker(RoutingKey id, LinkedList<TSelf> idle)
    {
        ArgumentNullException.ThrowIfNull(idle);
        Id = id;
        Idle = idle;
        IdleNode = new LinkedListNode<TSelf>((TSelf)this);
    }

    /// <summary>Its routing id.</summary>
    public RoutingKey Id { get; }

    /// <summary>The idle list it joins when free (its service's, or the queue's only one); the first there has waited longest.</summary>
    public LinkedList<TSelf> Idle { get; }

    /// <summary>Its node in <see cref="Idle"/> (reused, so going idle allocates nothing).</summary>
    public LinkedListNode<TSelf> IdleNode { get; }

    /// <summary>Where it is in its life.</summary>
    public WorkerState State { get; internal set; } = WorkerState.Ready;

    /// <summary>The request it is working on, when <see cref="State"/> is <see cref="WorkerState.Busy"/>.</summary>
    public PendingRequest<TPayload>? Request { get; internal set; }
}
