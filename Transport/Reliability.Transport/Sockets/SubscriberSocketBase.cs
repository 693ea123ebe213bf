using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport;

/// <summary>
/// Shared subscriber behaviour (SUB and XSUB): keeps the counted subscription list, sends each
/// change to every connected publisher — a SUBSCRIBE/CANCEL command to ZMTP 3.1 peers, a
/// <c>01</c>/<c>00</c> message to 3.0 peers — and resends the whole list after every (re)connect.
/// </summary>
public abstract class SubscriberSocketBase : ZmqSocket
{
    private readonly object _subscriptionsGate = new();
    private readonly SubscriptionSet _subscriptions = new();
    private readonly HashSet<Pipe> _ready = [];

    private protected SubscriberSocketBase(SocketType type, SocketOptions? options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider)
        : base(type, options, loggerFactory, timeProvider)
    {
    }

    private protected bool ChangeSubscription(bool subscribe, ReadOnlySpan<byte> topic)
    {
        lock (_subscriptionsGate)
        {
            int result = subscribe ? _subscriptions.Add(topic) : _subscriptions.Remove(topic);
            if (subscribe && result == 0)
            {
                throw new InvalidOperationException($"At most {SubscriptionSet.MaxTopics} distinct topics can be subscribed.");
            }

            if (result < 0)
            {
                return false;
            }

            // As libzmq: every subscribe goes upstream, a cancel only when the last local one goes.
            if (!subscribe && result > 0)
            {
                return true;
            }

            foreach (var pipe in _ready)
            {
                Forward(pipe, subscribe, topic);
            }

            return true;
        }
    }

    private protected bool MatchesSubscription(ReadOnlySpan<byte> data)
    {
        lock (_subscriptionsGate)
        {
            return _subscriptions.Matches(data);
        }
    }

    private static void Forward(Pipe pipe, bool subscribe, ReadOnlySpan<byte> topic)
    {
        var message = pipe.PeerMinor >= 1
            ? new Message(Commands.BuildSubscriptionBody(subscribe, topic)) { IsCommand = true }
            : new Message(Commands.BuildSubscriptionMessage(subscribe, topic));
        pipe.Outbound.ForceEnqueue(message);
    }

    private protected override ProtocolError? OnPeerReady(Pipe pipe, byte[] peerIdentity)
    {
        lock (_subscriptionsGate)
        {
            // Subscriptions queued for an earlier connection of this pipe are resent in full below.
            pipe.Outbound.Clear();
            foreach (var topic in _subscriptions.Topics)
            {
                Forward(pipe, subscribe: true, topic);
            }

            _ready.Add(pipe);
        }

        return null;
    }

    private protected override void OnPeerGone(Pipe pipe)
    {
        lock (_subscriptionsGate)
        {
            _ready.Remove(pipe);
        }
    }

    /// <summary>Sends to every connected publisher (XSUB's upstream messages); dropped for full queues.</summary>
    private protected void FanOut(Message message)
    {
        lock (_subscriptionsGate)
        {
            foreach (var pipe in _ready)
            {
                if (!pipe.Outbound.TryEnqueue(message))
                {
                    Drop("publisher queue full");
                }
            }
        }
    }
}
