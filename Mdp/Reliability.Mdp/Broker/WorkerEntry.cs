using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;

namespace Reliability.Mdp.Broker;

/// <summary>
/// One registered worker: what the pool tracks (state, request, idle place) plus its protocol version
/// and service. Only READY (first registration) and REPLY/FINAL move a worker to
/// <see cref="WorkerState.Ready"/>; heartbeats and PARTIAL replies only refresh its liveness
/// (docs/wire/mdp.md §9: "any traffic means ready" re-queues busy workers).
/// </summary>
internal sealed class WorkerEntry(RoutingKey id, MdpVersion version, ServiceEntry service)
    : PooledWorker<WorkerEntry, MdpRequest>(id, service.Idle)
{
    /// <summary>The version of its READY; every later command must carry the same header.</summary>
    public MdpVersion Version { get; } = version;

    public ServiceEntry Service { get; } = service;

    /// <summary>Who the transport authenticated it as when it sent READY (CURVE key or PLAIN user); null without security.</summary>
    public string? UserId { get; init; }

    /// <summary>Its MDP/0.2 READY announced trace frames: only then do its requests carry one (docs/wire/mdp.md §18).</summary>
    public bool TraceContext { get; init; }

    /// <summary>Timestamp of the last message the broker sent it (any message counts as a heartbeat).</summary>
    public long LastSentAt { get; set; }

    public override string ToString() => $"{Id} {Version} '{Service.Name}' {State}";
}
