namespace Reliability.Transport;

/// <summary>
/// Marks a received <see cref="Message"/> as a peer event rather than data. Sockets deliver peer events
/// only when <see cref="SocketOptions.ReceivePeerEvents"/> is set (ROUTER and DEALER).
/// </summary>
public enum PeerEventKind
{
    /// <summary>An ordinary message from a peer.</summary>
    None = 0,

    /// <summary>
    /// A peer completed its handshake. It comes before any message from that peer. On a ROUTER the
    /// message's only frame is the peer's routing id; on a DEALER the message has no frames.
    /// </summary>
    Connected,

    /// <summary>
    /// A peer's connection ended. It comes after every message that peer's connection delivered, and on a
    /// ROUTER with <see cref="SocketOptions.RouterHandover"/> before the <see cref="Connected"/> of the
    /// connection that took the routing id over. Frames as for <see cref="Connected"/>.
    /// </summary>
    Disconnected,
}
