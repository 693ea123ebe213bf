using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

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
