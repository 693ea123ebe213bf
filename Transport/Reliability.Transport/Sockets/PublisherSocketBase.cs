using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>
/// Shared publisher behaviour (PUB and XPUB): per-peer counted prefix subscriptions, received as
/// ZMTP 3.1 SUBSCRIBE/CANCEL commands or as 3.0-style <c>01</c>/<c>00</c> messages (both are
/// accepted from every peer); messages fan out to every peer with a matching subscription and are
/// dropped for a peer whose queue is full, so a slow subscriber never blocks the publisher.
/// </summary>
public abstract class PublisherSocketBase : ZmqSocket
{
    private readonly object _subscriptionsGate = new();
    private readonly Dictionary<Pipe, SubscriptionSet> _subscriptions = [];
    private readonly SubscriptionSet _totals = new();

    private protected PublisherSocketBase(SocketType type, SocketOptions? options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider)
        : base(type, options, loggerFactory, timeProvider)
    {
    }

    internal override bool InterceptsInbound => true;

    internal override bool InterceptInbound(Pipe pipe, Message message)
    {
        if (message.Count == 1 && message[0].Length >= 1 && message[0].Span[0] <= 1)
        {
            OnPeerSubscription(pipe, message[0].Span[0] == 1, message[0].Span[1..]);
        }
        else
        {
            Drop("publisher received a message that is not a subscription");
        }

        return true;
    }

    internal override void OnPeerSubscription(Pipe pipe, bool subscribe, ReadOnlySpan<byte> topic)
    {
        int total;
        lock (_subscriptionsGate)
        {
            if (!_subscriptions.TryGetValue(pipe, out var set))
            {
                if (pipe.IsTerminated)
                {
                    return;
                }

                set = new SubscriptionSet();
                _subscriptions[pipe] = set;
            }

            if (subscribe)
            {
                if (set.Add(topic) == 0)
                {
                    Drop("subscription limit reached for a peer");
                    return;
                }

                total = _totals.Add(topic);
            }
            else
            {
                if (set.Remove(topic) < 0)
                {
                    return;
                }

                total = _totals.Remove(topic);
            }
        }

        OnSubscriptionChanged(pipe, subscribe, topic, total);
    }

    /// <summary>Called after a peer's subscription changed; <paramref name="total"/> is the count over all peers.</summary>
    private protected virtual void OnSubscriptionChanged(Pipe pipe, bool subscribe, ReadOnlySpan<byte> topic, int total)
    {
    }

    private protected override void OnPeerGone(Pipe pipe)
    {
        List<byte[]> cancelled = [];
        lock (_subscriptionsGate)
        {
            if (!_subscriptions.Remove(pipe, out var set))
            {
                return;
            }

            foreach (var topic in set.Topics.ToList())
            {
                while (set.Remove(topic) >= 0)
                {
                    if (_totals.Remove(topic) == 0)
                    {
                        cancelled.Add(topic);
                    }
                }
            }
        }

        foreach (var topic in cancelled)
        {
            OnSubscriptionChanged(pipe, subscribe: false, topic, 0);
        }
    }

    private protected override bool TryRoute(Message message)
    {
        var first = message[0].Span;
        lock (_subscriptionsGate)
        {
            foreach (var (pipe, set) in _subscriptions)
            {
                if (set.Matches(first) && !pipe.Outbound.TryEnqueue(message))
                {
                    Drop("subscriber queue full");
                }
            }
        }

        // A publisher never blocks: without a matching subscriber the message is simply not sent.
        return true;
    }
}
