namespace Reliability.Transport;

/// <summary>What happened to a connection or endpoint (modelled on libzmq's socket monitor events).</summary>
public enum SocketEventKind
{
    /// <summary>A bind succeeded; the socket is accepting connections.</summary>
    Listening,

    /// <summary>A bind failed.</summary>
    BindFailed,

    /// <summary>A TCP connection was accepted on a bound endpoint.</summary>
    Accepted,

    /// <summary>An outgoing TCP connection was established.</summary>
    Connected,

    /// <summary>An outgoing connection attempt failed or a connection was lost; a retry is scheduled after <see cref="SocketEvent.RetryIn"/>.</summary>
    ConnectRetried,

    /// <summary>Greeting and READY were exchanged; messages can flow.</summary>
    HandshakeSucceeded,

    /// <summary>The handshake failed (see <see cref="SocketEvent.Error"/>); the connection was closed.</summary>
    HandshakeFailed,

    /// <summary>An established connection ended (peer closed, I/O error, protocol error after the handshake).</summary>
    Disconnected,

    /// <summary>A bound endpoint was closed.</summary>
    Closed,

    /// <summary>
    /// An outgoing connection attempt is in progress and did not complete at once (libzmq's
    /// CONNECT_DELAYED): a tcp connect still waiting for the peer's answer, or an inproc connect
    /// waiting for its name to be bound. <see cref="Connected"/> or <see cref="ConnectRetried"/> follows.
    /// </summary>
    ConnectDelayed,

    /// <summary>
    /// Closing a bound endpoint failed (libzmq's CLOSE_FAILED), e.g. the ipc socket file could not be
    /// removed; <see cref="SocketEvent.Exception"/> says why. Raised instead of <see cref="Closed"/>.
    /// </summary>
    CloseFailed,

    /// <summary>
    /// The socket was disposed (libzmq's MONITOR_STOPPED): raised once, after every other event of
    /// the socket; nothing is raised after it. Its endpoint is empty.
    /// </summary>
    MonitorStopped,
}

/// <summary>A connection event, raised through <see cref="ZmqSocket.EventRaised"/>.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Endpoint">The endpoint concerned (bound endpoint, or remote endpoint for connections).</param>
public sealed record SocketEvent(SocketEventKind Kind, string Endpoint)
{
    /// <summary>The protocol violation, for <see cref="SocketEventKind.HandshakeFailed"/> and protocol-error disconnects.</summary>
    public ProtocolError? Error { get; init; }

    /// <summary>The underlying exception, when there is one.</summary>
    public Exception? Exception { get; init; }

    /// <summary>Delay before the next connection attempt, for <see cref="SocketEventKind.ConnectRetried"/>.</summary>
    public TimeSpan? RetryIn { get; init; }

    /// <summary>
    /// The peer's routing id (its Identity, or a generated one on ROUTER), once known: set for
    /// <see cref="SocketEventKind.HandshakeSucceeded"/> and <see cref="SocketEventKind.Disconnected"/>.
    /// A ROUTER may already route the same id to a newer connection (handover) when the old one's
    /// Disconnected is raised.
    /// </summary>
    public ReadOnlyMemory<byte> PeerRoutingId { get; init; }
}
