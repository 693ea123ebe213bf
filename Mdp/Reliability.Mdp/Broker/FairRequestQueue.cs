using Reliability.Patterns.Queueing;
using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

/// <summary>
/// The requests of one service waiting for a worker: first in, first out per client, and round-robin
/// between clients, so that a client with a thousand requests queued does not make a client with
/// one wait behind all of them (RFC 7: the broker SHOULD be fair to clients).
/// </summary>
/// <remarks>Not thread-safe: owned by the broker loop.</remarks>
internal sealed class FairRequestQueue : IRequeueTarget<MdpRequest>
{
    private readonly Dictionary<RoutingKey, Lane> _lanes = new(RoutingKeyComparer.Instance);
    private readonly LinkedList<Lane> _rotation = new();
    private readonly Action<PendingRequest<MdpRequest>, bool>? _changed;

    /// <param name="changed">Told of every request that enters (true) or leaves (false) the queue, whatever the way; none when null.</param>
    public FairRequestQueue(Action<PendingRequest<MdpRequest>, bool>? changed = null)
    {
        _changed = changed;
    }

    /// <summary>Requests queued, all clients together.</summary>
    public int Count { get; private set; }

    /// <summary>Clients with at least one queued request.</summary>
    public int ClientCount => _lanes.Count;

    /// <summary>Queues <paramref name="request"/> behind its client's earlier requests.</summary>
    public void Enqueue(PendingRequest<MdpRequest> request)
    {
        GetOrAddLane(request.Client, front: false).Requests.AddLast(request.Node);
        Count++;
        _changed?.Invoke(request, true);
    }

    /// <summary>
    /// Puts <paramref name="request"/> back at the head of the queue: it was already taken once (its
    /// worker was lost, or it could not be sent), so it goes before everything that arrived after it.
    /// </summary>
    public void EnqueueFront(PendingRequest<MdpRequest> request)
    {
        var lane = GetOrAddLane(request.Client, front: true);
        if (lane.RotationNode.Previous is not null)
        {
            _rotation.Remove(lane.RotationNode);
            _rotation.AddFirst(lane.RotationNode);
        }

        lane.Requests.AddFirst(request.Node);
        Count++;
        _changed?.Invoke(request, true);
    }

    /// <inheritdoc />
    public void Requeue(PendingRequest<MdpRequest> request) => EnqueueFront(request);

    /// <summary>Takes the oldest request of the client whose turn it is, and moves that client to the back.</summary>
    public bool TryDequeue(out PendingRequest<MdpRequest> request)
    {
        var laneNode = _rotation.First;
        if (laneNode is null)
        {
            request = null!;
            return false;
        }

        var lane = laneNode.Value;
        request = lane.Requests.First!.Value;
        lane.Requests.RemoveFirst();
        Count--;
        _rotation.RemoveFirst();
        if (lane.Requests.Count > 0)
        {
            _rotation.AddLast(laneNode);
        }
        else
        {
            _lanes.Remove(lane.Client);
        }

        _changed?.Invoke(request, false);
        return true;
    }

    /// <summary>Removes every request queued at or before <paramref name="cutoff"/> and returns how many.</summary>
    public int RemoveQueuedBefore(long cutoff)
    {
        if (Count == 0)
        {
            return 0;
        }

        int removed = 0;
        var laneNode = _rotation.First;
        while (laneNode is not null)
        {
            var nextLane = laneNode.Next;
            var lane = laneNode.Value;

            // A requeued request sits at the front with a later timestamp, so scan the whole lane.
            var node = lane.Requests.First;
            while (node is not null)
            {
                var next = node.Next;
                if (node.Value.QueuedAt <= cutoff)
                {
                    lane.Requests.Remove(node);
                    removed++;
                    _changed?.Invoke(node.Value, false);
                }

                node = next;
            }

            if (lane.Requests.Count == 0)
            {
                _rotation.Remove(laneNode);
                _lanes.Remove(lane.Client);
            }

            laneNode = nextLane;
        }

        Count -= removed;
        return removed;
    }

    /// <summary>Removes every request of <paramref name="client"/> and returns how many there were.</summary>
    public int RemoveClient(RoutingKey client)
    {
        if (!_lanes.Remove(client, out var lane))
        {
            return 0;
        }

        _rotation.Remove(lane.RotationNode);
        int removed = lane.Requests.Count;
        Tell(lane);
        lane.Requests.Clear();
        Count -= removed;
        return removed;
    }

    /// <summary>Empties the queue and returns how many requests it held.</summary>
    public int Clear()
    {
        int count = Count;
        foreach (var lane in _lanes.Values)
        {
            Tell(lane);
            lane.Requests.Clear();
        }

        _lanes.Clear();
        _rotation.Clear();
        Count = 0;
        return count;
    }

    private void Tell(Lane lane)
    {
        if (_changed is null)
        {
            return;
        }

        foreach (var request in lane.Requests)
        {
            _changed(request, false);
        }
    }

    private Lane GetOrAddLane(RoutingKey client, bool front)
    {
        if (!_lanes.TryGetValue(client, out var lane))
        {
            lane = new Lane(client);
            _lanes.Add(client, lane);
            if (front)
            {
                _rotation.AddFirst(lane.RotationNode);
            }
            else
            {
                _rotation.AddLast(lane.RotationNode);
            }
        }

        return lane;
    }

    private sealed class Lane
    {
        public Lane(RoutingKey client)
        {
            Client = client;
            RotationNode = new LinkedListNode<Lane>(this);
        }

        public RoutingKey Client { get; }

        public LinkedList<PendingRequest<MdpRequest>> Requests { get; } = new();

        public LinkedListNode<Lane> RotationNode { get; }
    }
}
