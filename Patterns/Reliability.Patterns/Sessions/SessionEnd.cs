namespace Reliability.Patterns.Sessions;

/// <summary>Why one connection of a reconnecting session (a worker's link to its broker or queue) ended.</summary>
internal enum SessionEnd
{
    /// <summary>No traffic from the peer for heartbeat × liveness.</summary>
    PeerSilent,

    /// <summary>The peer said goodbye in its protocol (MDP DISCONNECT), e.g. after a restart that forgot us.</summary>
    PeerDisconnected,

    /// <summary>The connection ended (peer stopped or restarted, connection reset): the peer forgot us with it.</summary>
    ConnectionLost,

    /// <summary>The transport gave the connection up for good (a protocol error during the handshake stops its retries).</summary>
    HandshakeFailed,

    /// <summary>The application's handler failed; the peer must be told so that it requeues the request.</summary>
    HandlerFailed,

    /// <summary>The session is shutting down.</summary>
    Stopping,
}
