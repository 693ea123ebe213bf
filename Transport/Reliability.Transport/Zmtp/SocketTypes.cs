namespace Reliability.Transport.Zmtp;

/// <summary>Socket-Type names and the legal pairs (RFC 37; libzmq check_socket_type; docs/wire/zmtp.md §7).</summary>
internal static class SocketTypes
{
    public static string WireName(SocketType type) => type switch
    {
        SocketType.Pair => "PAIR",
        SocketType.Pub => "PUB",
        SocketType.Sub => "SUB",
        SocketType.Req => "REQ",
        SocketType.Rep => "REP",
        SocketType.Dealer => "DEALER",
        SocketType.Router => "ROUTER",
        SocketType.Pull => "PULL",
        SocketType.Push => "PUSH",
        SocketType.XPub => "XPUB",
        SocketType.XSub => "XSUB",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown socket type."),
    };

    /// <summary>Whether a local socket of <paramref name="local"/> type may talk to a peer announcing <paramref name="peerWireName"/> (exact, upper case, as libzmq).</summary>
    public static bool IsCompatible(SocketType local, string peerWireName) => local switch
    {
        SocketType.Req => peerWireName is "REP" or "ROUTER",
        SocketType.Rep => peerWireName is "REQ" or "DEALER",
        SocketType.Dealer => peerWireName is "REP" or "DEALER" or "ROUTER",
        SocketType.Router => peerWireName is "REQ" or "DEALER" or "ROUTER",
        SocketType.Pub or SocketType.XPub => peerWireName is "SUB" or "XSUB",
        SocketType.Sub or SocketType.XSub => peerWireName is "PUB" or "XPUB",
        SocketType.Push => peerWireName is "PULL",
        SocketType.Pull => peerWireName is "PUSH",
        SocketType.Pair => peerWireName is "PAIR",
        _ => false,
    };

    /// <summary>libzmq sends Identity for REQ, DEALER and ROUTER only.</summary>
    public static bool SendsIdentity(SocketType type) => type is SocketType.Req or SocketType.Dealer or SocketType.Router;
}
