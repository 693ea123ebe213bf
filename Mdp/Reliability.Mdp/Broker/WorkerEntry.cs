using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

/// <summary>
/// Where a worker is in its life at the broker. Only READY (first registration) and REPLY/FINAL move a
/// worker to <see cref="Ready"/>; heartbeats and PARTIAL replies only refresh its liveness
/// (docs/wire/mdp.md §9: "any traffic means ready" re-queues busy workers).
/// </summary>
internal enum WorkerState
{
    /// <summary>Registered and idle: in its service's least-recently-used list, waiting for a request.</summary>
    Ready,

    /// <summary>Working on exactly one request; still heartbeating and still expiring (docs/wire/mdp.md §10).</summary>
    Busy,

    /// <summary>Terminal: silent too long, disconnected, unreachable or refused. The broker has forgotten it.</summary>
    Expired,
}

/// <summary>One registered worker: its routing id, protocol version, service and state.</summary>
internal sealed class WorkerEntry
{
    public WorkerEntry(RoutingKey id, MdpVersion version, ServiceEntry service)
    {
        Id = id;
        Version = version;
        Service = service;
        IdleNode = new LinkedListNode<WorkerEntry>(this);
    }

    public RoutingKey Id { get; }

    /// <summary>The version of its READY; every later command must carry the same header.</summary>
    public MdpVersion Version { get; }

    public ServiceEntry Service { get; }

    public WorkerState State { get; private set; } = WorkerState.Ready;

    /// <summary>The request it is working on, when <see cref="State"/> is <see cref="WorkerState.Busy"/>.</summary>
    public PendingRequest? Request { get; private set; }

    /// <summary>Its node in the service's idle list (reused, so going idle allocates nothing).</summary>
    public LinkedListNode<WorkerEntry> IdleNode { get; }

    /// <summary>Timestamp of the last message the broker sent it (any message counts as a heartbeat).</summary>
    public long LastSentAt { get; set; }

    public void StartWork(PendingRequest request)
    {
        if (State != WorkerState.Ready)
        {
            throw new InvalidOperationException($"A {State} worker cannot take a request.");
        }

        State = WorkerState.Busy;
        Request = request;
    }

    /// <summary>REPLY or FINAL: the request is done and the worker is ready for the next.</summary>
    public PendingRequest FinishWork()
    {
        var request = Request ?? throw new InvalidOperationException($"A {State} worker has no request to finish.");
        State = WorkerState.Ready;
        Request = null;
        return request;
    }

    /// <summary>Moves the worker to its terminal state and hands back the request it was working on, if any.</summary>
    public PendingRequest? Expire()
    {
        var request = Request;
        State = WorkerState.Expired;
        Request = null;
        return request;
    }

    public override string ToString() => $"{Id} {Version} '{Service.Name}' {State}";
}
