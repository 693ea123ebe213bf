using Reliability.Patterns.Queueing;

namespace Reliability.Mdp.Broker;

/// <summary>
/// One service: its idle workers in least-recently-used order and its queued requests. Invariant
/// kept by the broker after every event: either no worker is idle or no request is queued.
/// </summary>
internal sealed class ServiceEntry
{
    /// <param name="name">The service name.</param>
    /// <param name="flow">Counts every queued request against its client's, this service's and the broker's limits; none when null.</param>
    public ServiceEntry(string name, FlowControl? flow = null)
    {
        Name = name;
        Queue = flow is null
            ? new FairRequestQueue()
            : new FairRequestQueue((request, added) =>
            {
                long cost = FlowControl.CostOf(request.Payload.Body);
                if (added)
                {
                    flow.Added(request.Client, name, cost);
                }
                else
                {
                    flow.Removed(request.Client, name, cost);
                }
            });
    }

    public string Name { get; }

    /// <summary>Idle workers; the first has been idle longest and gets the next request.</summary>
    public LinkedList<WorkerEntry> Idle { get; } = new();

    /// <summary>Registered workers, idle and busy.</summary>
    public int WorkerCount { get; set; }

    public FairRequestQueue Queue { get; }

    /// <summary>Nothing to remember: no workers, no queued requests. Such a service is forgotten at once (docs/wire/mdp.md §14).</summary>
    public bool IsEmpty => WorkerCount == 0 && Queue.Count == 0;

    public override string ToString() => $"'{Name}': {WorkerCount} worker(s), {Idle.Count} idle, {Queue.Count} queued";
}
