using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Mdp.Broker;

/// <summary>
/// Replies the broker could not hand to their client because the client is not reading (its queue on the
/// ROUTER is full): held in order and tried again on the broker's timer, instead of dropped. A held reply
/// counts against its client's flow-control limits, so a client that sends without reading is paused before
/// the broker holds more for it than <see cref="BrokerOptions.MaxQueuedRequestsPerClient"/> allows.
/// </summary>
/// <remarks>Not thread-safe: owned by the broker loop.</remarks>
internal sealed class ReplyBacklog(IBrokerSender sender, FlowControl flow)
{
    private readonly Dictionary<RoutingKey, Queue<Message>> _held = new(RoutingKeyComparer.Instance);

    /// <summary>Replies held, all clients together.</summary>
    public int Count { get; private set; }

    /// <summary>When the held replies are next to be tried: <paramref name="retryUnits"/> from <paramref name="now"/>, or never when none is held.</summary>
    public long RetryAt(long now, long retryUnits) => Count > 0 ? now + Math.Max(retryUnits, 1) : long.MaxValue;

    /// <summary>Sends <paramref name="reply"/> to <paramref name="client"/>, behind any replies held for it.</summary>
    /// <returns><see cref="BrokerSendResult.Sent"/>; <see cref="BrokerSendResult.QueueFull"/> when it is held; <see cref="BrokerSendResult.Unreachable"/> when the client is gone (the reply is dropped).</returns>
    public BrokerSendResult Send(RoutingKey client, Message reply)
    {
        if (_held.ContainsKey(client) && FlushClient(client) != BrokerSendResult.Sent)
        {
            return Hold(client, reply);
        }

        var result = sender.TrySend(reply);
        return result == BrokerSendResult.QueueFull ? Hold(client, reply) : result;
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

    /// <summary>Sends a client's held replies until one does not go; returns the last result (<see cref="BrokerSendResult.Sent"/> when all went).</summary>
    private BrokerSendResult FlushClient(RoutingKey client)
    {
        var queue = _held[client];
        while (queue.TryPeek(out var reply))
        {
            var result = sender.TrySend(reply);
            if (result == BrokerSendResult.QueueFull)
            {
                return result;
            }

            if (result == BrokerSendResult.Unreachable)
            {
                Drop(client);
                return result;
            }

            queue.Dequeue();
            Release(client, reply);
        }

        _held.Remove(client);
        return BrokerSendResult.Sent;
    }

    private BrokerSendResult Hold(RoutingKey client, Message reply)
    {
        if (!_held.TryGetValue(client, out var queue))
        {
            queue = new Queue<Message>();
            _held.Add(client, queue);
        }

        queue.Enqueue(reply);
        Count++;
        flow.Added(client, null, FlowControl.CostOf(reply));
        return BrokerSendResult.QueueFull;
    }

    private void Release(RoutingKey client, Message reply)
    {
        Count--;
        flow.Removed(client, null, FlowControl.CostOf(reply));
    }
}
