using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>
/// ROUTER: each received message gets its peer's routing id as first frame; a sent message's first
/// frame selects the peer. The routing id is the peer's Identity, or a generated 5-byte id
/// (<c>00</c> + 32-bit counter). Unroutable messages are dropped, or throw
/// <see cref="HostUnreachableException"/> with <see cref="SocketOptions.RouterMandatory"/>.
/// </summary>
public sealed class RouterSocket : ZmqSocket
{
    private readonly object _routesGate = new();
    private readonly Dictionary<byte[], Pipe> _routes = new(RoutingIdComparer.Instance);
    private readonly Dictionary<byte[], Pipe>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private uint _nextGeneratedId = (uint)Random.Shared.Next();
    private Pipe? _blockedOn;

    /// <summary>Creates a ROUTER socket.</summary>
    public RouterSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Router, options, loggerFactory, timeProvider)
    {
        _lookup = _routes.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>
    /// Whether a connected peer has <paramref name="routingId"/> right now, i.e. a message to it would be
    /// routed. After a Disconnected event this tells a peer that is gone from one that already came back
    /// under the same id (handover).
    /// </summary>
    public bool IsConnected(ReadOnlySpan<byte> routingId)
    {
        lock (_routesGate)
        {
            return _lookup.ContainsKey(routingId);
        }
    }

    /// <summary>
    /// Stops reading the messages of the peer with <paramref name="routingId"/> until <see cref="ResumeReceiving"/>:
    /// its connection is no longer read, so what it sends waits in its own queue and in TCP, and it is slowed
    /// to the pace the application sets, while every other peer goes on as before. This is flow control for
    /// queues and brokers (docs/wire/zmtp.md, "Per-peer flow control"); libzmq has no such call, and the wire is
    /// unchanged. Messages already read from the connection (at most one read buffer) may still arrive.
    /// A peer that reconnects, or a connection that takes the routing id over, starts unpaused.
    /// </summary>
    /// <param name="routingId">The peer's routing id, as the first frame of its messages.</param>
    /// <returns>False when no connected peer has that routing id.</returns>
    public bool PauseReceiving(ReadOnlySpan<byte> routingId) => WithPipe(routingId, static pipe => pipe.PauseInbound());

    /// <summary>Reads the messages of the peer with <paramref name="routingId"/> again after <see cref="PauseReceiving"/>.</summary>
    /// <param name="routingId">The peer's routing id.</param>
    /// <returns>False when no connected peer has that routing id.</returns>
    public bool ResumeReceiving(ReadOnlySpan<byte> routingId) => WithPipe(routingId, static pipe => pipe.ResumeInbound());

    private bool WithPipe(ReadOnlySpan<byte> routingId, Action<Pipe> action)
    {
        Pipe? pipe;
        lock (_routesGate)
        {
            _lookup.TryGetValue(routingId, out pipe);
        }

        if (pipe is null)
        {
            return false;
        }

        action(pipe);
        return true;
    }

    /// <summary>Number of peers that can be routed to right now.</summary>
    public int PeerCount
    {
        get
        {
            lock (_routesGate)
            {
                return _routes.Count;
            }
        }
    }

    private protected override ProtocolError? OnPeerReady(Pipe pipe, byte[] peerIdentity)
    {
        Pipe? replaced = null;
        lock (_routesGate)
        {
            byte[] id = peerIdentity.Length > 0 ? peerIdentity : GenerateId();
            if (_routes.TryGetValue(id, out var existing) && existing != pipe)
            {
                if (!Options.RouterHandover)
                {
                    // libzmq keeps the first connection; the newcomer is refused.
                    return ProtocolError.DuplicateIdentity;
                }

                replaced = existing;

                // The old holder of the id departs before the newcomer arrives, so a reader of peer
                // events never sees the id gone while its new connection is up.
                QueueDeparture(replaced);
            }

            _routes[id] = pipe;
            pipe.RoutingId = id;
            pipe.PeerAnnounced = true;
            QueuePeerEvent(pipe, PeerEventKind.Connected);
        }

        // Woken outside the lock: an inline receiver would otherwise run its loop while holding it.
        WakeReceiver();

        // Handover: the old connection is closed; its pipe ends through the normal path.
        replaced?.Connection?.Dispose();
        return null;
    }

    private protected override void OnPeerGone(Pipe pipe)
    {
        lock (_routesGate)
        {
            var id = pipe.RoutingId;
            if (!id.IsEmpty && _lookup.TryGetValue(id.Span, out var current) && current == pipe)
            {
                _lookup.Remove(id.Span);
            }

            QueueDeparture(pipe);
        }

        WakeReceiver();
    }

    /// <summary>Queues the Disconnected event of a pipe's peer, once per Connected. Caller holds the routing lock.</summary>
    private void QueueDeparture(Pipe pipe)
    {
        if (pipe.PeerAnnounced)
        {
            pipe.PeerAnnounced = false;
            QueuePeerEvent(pipe, PeerEventKind.Disconnected);
        }
    }

    private byte[] GenerateId()
    {
        var id = new byte[5];
        do
        {
            BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(1), unchecked(_nextGeneratedId++));
        }
        while (_lookup.ContainsKey(id));

        return id;
    }

    // A peer event already carries the routing id its peer had when it happened.
    private protected override Message? FilterIncoming(Pipe pipe, Message message) =>
        message.PeerEvent == PeerEventKind.None ? message.Prepend(pipe.RoutingId) : message;

    private protected override bool TryRoute(Message message)
    {
        if (message.Count < 2)
        {
            // libzmq ignores a lone routing-id frame.
            Drop("routing id without a body");
            return true;
        }

        Pipe? pipe;
        var id = message[0];
        lock (_routesGate)
        {
            _lookup.TryGetValue(id.Span, out pipe);
        }

        if (pipe is null)
        {
            if (Options.RouterMandatory)
            {
                throw new HostUnreachableException(id.ToArray());
            }

            Drop("unknown routing id");
            return true;
        }

        message.Pop();
        if (pipe.Outbound.TryEnqueue(message))
        {
            return true;
        }

        if (!Options.RouterMandatory)
        {
            Drop("peer queue full");
            return true;
        }

        message.Prepend(id);
        _blockedOn = pipe;
        return false;
    }

    private protected override Task SendableSignal() => _blockedOn?.Outbound.WritableSignal() ?? Task.CompletedTask;

    /// <summary>Content equality for binary routing ids, with span lookups so routing allocates nothing.</summary>
    private sealed class RoutingIdComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly RoutingIdComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
