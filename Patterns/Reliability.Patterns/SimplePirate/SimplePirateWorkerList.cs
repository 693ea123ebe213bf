using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.SimplePirate;

/// <summary>
/// The Simple Pirate queue's workers without sockets: the known ones and, among them, the free
/// ones in least-recently-used order (the worker that has waited longest gets the next request).
/// </summary>
/// <remarks>
/// Simple Pirate has no heartbeats, so an idle worker that died stays listed until a send to it
/// fails (the queue's ROUTER is mandatory, so that is noticed), and a busy worker that died is never
/// noticed: its client's retry is the only recovery. Paranoid Pirate fixes both. Not thread-safe.
/// </remarks>
internal sealed class SimplePirateWorkerList
{
    private readonly Dictionary<RoutingKey, LinkedListNode<RoutingKey>?> _known = new(RoutingKeyComparer.Instance);
    private readonly LinkedList<RoutingKey> _ready = new();

    /// <summary>Workers known, free or busy.</summary>
    public int Count => _known.Count;

    /// <summary>Free workers.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>
    /// Puts <paramref name="worker"/> at the end of the free list (after READY or a reply).
    /// A worker already free keeps its place, so a repeated READY cannot list it twice.
    /// </summary>
    /// <returns>True when the worker was not known before.</returns>
    public bool MarkReady(RoutingKey worker)
    {
        if (_known.TryGetValue(worker, out var node))
        {
            if (node is null)
            {
                _known[worker] = _ready.AddLast(worker);
            }

            return false;
        }

        _known.Add(worker, _ready.AddLast(worker));
        return true;
    }

    /// <summary>Takes the least recently used free worker, which becomes busy. False when none is free.</summary>
    public bool TryTakeReady(out RoutingKey worker)
    {
        var first = _ready.First;
        if (first is null)
        {
            worker = default;
            return false;
        }

        worker = first.Value;
        _ready.RemoveFirst();
        _known[worker] = null;
        return true;
    }

    /// <summary>Whether <paramref name="worker"/> is known and free.</summary>
    public bool IsReady(RoutingKey worker) => _known.TryGetValue(worker, out var node) && node is not null;

    /// <summary>Forgets a worker (its connection is gone). Returns whether it was known.</summary>
    public bool Remove(RoutingKey worker)
    {
        if (!_known.Remove(worker, out var node))
        {
            return false;
        }

        if (node is not null)
        {
            _ready.Remove(node);
        }

        return true;
    }

    /// <summary>Forgets every worker; returns how many were known.</summary>
    public int Clear()
    {
        int count = _known.Count;
        _known.Clear();
        _ready.Clear();
        return count;
    }
}
