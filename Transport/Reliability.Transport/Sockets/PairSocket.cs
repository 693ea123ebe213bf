using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>
/// PAIR: exclusive connection to one peer. While a peer is connected, further connections are
/// refused (closed after the handshake). Sends wait while the peer's queue is full.
/// </summary>
public sealed class PairSocket : ZmqSocket
{
    private readonly object _peerGate = new();
    private Pipe? _peer;

    /// <summary>Creates a PAIR socket.</summary>
    public PairSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Pair, options, loggerFactory, timeProvider)
    {
    }

    private protected override bool UsesLoadBalancing => true;

    private protected override ProtocolError? OnPeerReady(Pipe pipe, byte[] peerIdentity)
    {
        lock (_peerGate)
        {
            if (_peer is not null && _peer != pipe && _peer.Connection is not null)
            {
                return ProtocolError.PeerRefused;
            }

            _peer = pipe;
            return null;
        }
    }

    private protected override void OnPeerGone(Pipe pipe)
    {
        lock (_peerGate)
        {
            if (_peer == pipe && !pipe.IsConnectSide)
            {
                _peer = null;
            }
        }
    }

    // A connecting PAIR owns one pipe that queues while the peer is away; a binding PAIR gets one per peer.
    private protected override bool TryRoute(Message message) => TryRoundRobin(message, out _);
}
