namespace Reliability.Mdp.Broker;

/// <summary>
/// One service: its idle workers in least-recently-used order and its queued requests. Invariant
/// kept by the broker after every event: either no worker is idle or no request is queued.
/// </summary>
internal sealed class ServiceEntry(string name)
{
    public string Name { get; } = name;

    /// <summary>Idle workers; the first has been idle longest and gets the next request.</summary>
    public LinkedList<WorkerEntry> Idle { get; } = new();

    /// <summary>Registered workers, idle and busy.</summary>
    public int WorkerCount { get; set; }

    public FairRequestQueue Queue { get; } = new();

    /// <summary>Nothing to remember: no workers, no queued requests. Such a service is forgotten at once (docs/wire/mdp.md §14).</summary>
    public bool IsEmpty => WorkerCount == 0 && Queue.Count == 0;

    public override string ToString() => $"'{Name}': {WorkerCount} worker(s), {Idle.Count} idle, {Queue.Count} queued";
}
