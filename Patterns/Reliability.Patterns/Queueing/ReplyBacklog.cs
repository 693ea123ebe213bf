using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.Queueing;

/// <summary>
/// Replies a broker or queue could not hand to their client because the client is not reading (its queue on
/// the ROUTER is full): held in order and tried again on the loop's timer, instead of dropped. A held reply
/// counts against its client's flow-control limits, so a client that sends without reading is paused before
/// the loop holds more for it than its per-client limit allows.
/// </summary>
/// <remarks>Not thread-safe: owned by the loop that sends.</remarks>
internal sealed class ReplyBacklog(IPeerSender sender, FlowControl flow)
{
    private readonly Dictionary<RoutingKey, Queue<Message>> _held = new(RoutingKeyComparer.Instance);

    /// <summary>Replies held, all clients together.</summary>
    public int Count { get; private set; }

    /// <summary>When the held replies are next to be tried: <paramref name="retryUnits"/> from <paramref name="now"/>, or never when none is held.</summary>
    public long RetryAt(long now, long retryUnits) => Count > 0 ? now + Math.Max(retryUnits, 1) : long.MaxValue;

    /// <summary>Sends <paramref name="reply"/> to <paramref name="client"/>, behind any replies held for it.</summary>
    /// <returns><see cref="PeerSendResult.Sent"/>; <see cref="PeerSendResult.QueueFull"/> when it is held; <see cref="PeerSendResult.Unreachable"/> when the client is gone (the reply is dropped).</returns>
    public PeerSendResult Send(RoutingKey client, Message reply)
    {
        if (_held.ContainsKey(client) && FlushClient(client) != PeerSendResult.Sent)
        {
            return Hold(client, reply);
        }

        var result = sender.TrySend(reply);
        return result == PeerSendResult.QueueFull ? Hold(client, reply) : result;
    }

    /// <summary>Tries every held reply again, each client's in order, until its queue is full again.</summary>
    public void Flush()
    {
        if (Count == 0)
        {
            return;
        }

        foreach (var client in _held.Keys.ToList())
        {
            FlushClient(client);
        }
    }

    /// <summary>Drops the replies held for a client that is gone; returns how many.</summary>
    public int Drop(RoutingKey client)
    {
        if (!_held.Remove(client, out var queue))
        {
            return 0;
        }

        int dropped = queue.Count;
        foreach (var reply in queue)
        {
            Release(client, reply);
        }

        return dropped;
    }

    /// <summary>Forgets everything held (shutdown).</summary>
    public void Clear()
    {
        _held.Clear();
        Count = 0;
    }

    /// <summary>Sends a client's held replies until one does not go; returns the last result (<see cref="PeerSendResult.Sent"/> when all went).</summary>
    private PeerSendResult FlushClient(RoutingKey client)
    {
        var queue = _held[client];
        while (queue.TryPeek(out var reply))
        {
            var result = sender.TrySend(reply);
            if (result == PeerSendResult.QueueFull)
            {
                return result;
            }

            if (result == PeerSendResult.Unreachable)
            {
                Drop(client);
                return result;
            }

            queue.Dequeue();
            Release(client, reply);
        }

        _held.Remove(client);
        return PeerSendResult.Sent;
    }

    private PeerSendResult Hold(RoutingKey client, Message reply)
    {
        if (!_held.TryGetValue(client, out var queue))
        {
            queue = new Queue<Message>();
            _held.Add(client, queue);
        }

        queue.Enqueue(reply);
        Count++;
        flow.Added(client, null, FlowControl.CostOf(reply));
        return PeerSendResult.QueueFull;
    }

    private void Release(RoutingKey client, Message reply)
    {
        Count--;
        flow.Removed(client, null, FlowControl.CostOf(reply));
    }
}
