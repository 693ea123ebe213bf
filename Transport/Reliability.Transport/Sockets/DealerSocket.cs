using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>
/// DEALER: round-robin out over peers that can take the message, fair-queued in, no envelope
/// handling. A send waits while every peer queue is full or there is no peer yet.
/// </summary>
public sealed class DealerSocket : ZmqSocket
{
    /// <summary>Creates a DEALER socket.</summary>
    public DealerSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Dealer, options, loggerFactory, timeProvider)
    {
    }

    private protected override bool UsesLoadBalancing => true;

    private protected override bool TryRoute(Message message) => TryRoundRobin(message, out _);

    // A pipe's ready and gone run one after the other on its connection's task, so no lock orders them.
    private protected override ProtocolError? OnPeerReady(Pipe pipe, byte[] peerIdentity)
    {
        QueuePeerEvent(pipe, PeerEventKind.Connected);
        WakeReceiver();
        return null;
    }

    private protected override void OnPeerGone(Pipe pipe)
    {
        QueuePeerEvent(pipe, PeerEventKind.Disconnected);
        WakeReceiver();
    }
}

/// <summary>PUSH: round-robin out, cannot receive. A send waits while every peer queue is full.</summary>
public sealed class PushSocket : ZmqSocket
{
    /// <summary>Creates a PUSH socket.</summary>
    public PushSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Push, options, loggerFactory, timeProvider)
    {
    }

    private protected override bool UsesLoadBalancing => true;

    private protected override bool TryRoute(Message message) => TryRoundRobin(message, out _);

    private protected override void CheckCanReceive() =>
        throw new NotSupportedException("A PUSH socket cannot receive.");
}

/// <summary>PULL: fair-queued in, cannot send.</summary>
public sealed class PullSocket : ZmqSocket
{
    /// <summary>Creates a PULL socket.</summary>
    public PullSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Pull, options, loggerFactory, timeProvider)
    {
    }

    private protected override Message PrepareOutgoing(Message message) =>
        throw new NotSupportedException("A PULL socket cannot send.");

    private protected override bool TryRoute(Message message) => false;
}
