using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

/// <summary>
/// Routing ids the broker recently sent DISCONNECT to. RFC 7: after answering an unexpected command
/// with DISCONNECT the broker goes silent, so a burst of stale heartbeats flushed by a reconnecting
/// DEALER (docs/wire/mdp.md §12) gets one DISCONNECT, not one per heartbeat. A READY from such an id is a
/// fresh registration and is accepted. Bounded in size and in time.
/// </summary>
internal sealed class SilencedPeers
{
    private readonly Dictionary<RoutingKey, long> _until = new(RoutingKeyComparer.Instance);
    private readonly Dictionary<RoutingKey, long>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly Queue<(RoutingKey Id, long Until)> _order = new();
    private readonly int _capacity;

    public SilencedPeers(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _lookup = _until.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count => _until.Count;

    /// <summary>Stays silent towards <paramref name="id"/> until the timestamp <paramref name="until"/>.</summary>
    public void Add(RoutingKey id, long until)
    {
        _until[id] = until;
        _order.Enqueue((id, until));

        // Bounded: each pass removes one entry, and the queue holds at most one entry per Add.
        while (_order.Count > 0 && (_until.Count > _capacity || _order.Count > 2 * _capacity))
        {
            var (oldId, oldUntil) = _order.Dequeue();
            if (_until.TryGetValue(oldId, out long current) && current == oldUntil)
            {
                _until.Remove(oldId);
            }
        }
    }

    /// <summary>Whether the broker should stay silent towards <paramref name="id"/> at <paramref name="now"/>.</summary>
    public bool IsSilenced(ReadOnlySpan<byte> id, long now) => _lookup.TryGetValue(id, out long until) && until > now;

    public void Remove(ReadOnlySpan<byte> id) => _lookup.Remove(id);

    /// <summary>Forgets entries whose time is up.</summary>
    public void Prune(long now)
    {
        // Bounded by the queue length.
        while (_order.TryPeek(out var head) && head.Until <= now)
        {
            _order.Dequeue();
            if (_until.TryGetValue(head.Id, out long current) && current == head.Until)
            {
                _until.Remove(head.Id);
            }
        }
    }

    public void Clear()
    {
        _until.Clear();
        _order.Clear();
    }
}
