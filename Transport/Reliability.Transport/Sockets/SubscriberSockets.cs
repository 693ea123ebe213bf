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

/// <summary>SUB: receives messages whose first frame starts with a subscribed prefix; cannot send.</summary>
public sealed class SubscriberSocket : SubscriberSocketBase
{
    /// <summary>Creates a SUB socket. It receives nothing until <see cref="Subscribe(string)"/> is called.</summary>
    public SubscriberSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Sub, options, loggerFactory, timeProvider)
    {
    }

    /// <summary>Subscribes to messages whose first frame starts with <paramref name="prefix"/> ("" = everything). Counted.</summary>
    public void Subscribe(ReadOnlySpan<byte> prefix)
    {
        ThrowIfDisposed();
        ChangeSubscription(subscribe: true, prefix);
    }

    /// <summary>Subscribes to a UTF-8 prefix ("" = everything).</summary>
    public void Subscribe(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        Subscribe(System.Text.Encoding.UTF8.GetBytes(prefix));
    }

    /// <summary>Removes one subscription to <paramref name="prefix"/>; false when there was none.</summary>
    public bool Unsubscribe(ReadOnlySpan<byte> prefix)
    {
        ThrowIfDisposed();
        return ChangeSubscription(subscribe: false, prefix);
    }

    /// <summary>Removes one subscription to a UTF-8 prefix; false when there was none.</summary>
    public bool Unsubscribe(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return Unsubscribe(System.Text.Encoding.UTF8.GetBytes(prefix));
    }

    private protected override Message PrepareOutgoing(Message message) =>
        throw new NotSupportedException("A SUB socket cannot send; use Subscribe/Unsubscribe, or XSUB.");

    private protected override bool TryRoute(Message message) => false;

    // Publishers filter already; filtering again keeps unsubscribed traffic in flight from leaking through.
    private protected override Message? FilterIncoming(Pipe pipe, Message message) =>
        MatchesSubscription(message[0].Span) ? message : null;
}

/// <summary>
/// XSUB: subscriptions are sent as messages (<c>01 topic</c> subscribes, <c>00 topic</c> cancels);
/// other messages go upstream to every publisher; receives everything publishers send.
/// </summary>
public sealed class XSubscriberSocket : SubscriberSocketBase
{
    /// <summary>Creates an XSUB socket.</summary>
    public XSubscriberSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.XSub, options, loggerFactory, timeProvider)
    {
    }

    private protected override bool TryRoute(Message message)
    {
        if (message.Count == 1 && message[0].Length >= 1 && message[0].Span[0] <= 1)
        {
            ChangeSubscription(message[0].Span[0] == 1, message[0].Span[1..]);
        }
        else
        {
            FanOut(message);
        }

        return true;
    }
}
