namespace Reliability.Transport;

/// <summary>The ZeroMQ socket types (names as in libzmq).</summary>
public enum SocketType
{
    /// <summary>Exclusive pair.</summary>
    Pair,

    /// <summary>Publisher.</summary>
    Pub,

    /// <summary>Subscriber.</summary>
    Sub,

    /// <summary>Requester: strict send/receive alternation.</summary>
    Req,

    /// <summary>Replier: receives a request, replies to its sender.</summary>
    Rep,

    /// <summary>Asynchronous requester: round-robin out, fair-queue in.</summary>
    Dealer,

    /// <summary>Asynchronous replier: routes by routing-id frame.</summary>
    Router,

    /// <summary>Pipeline sink.</summary>
    Pull,

    /// <summary>Pipeline source.</summary>
    Push,

    /// <summary>Publisher that exposes subscriptions.</summary>
    XPub,

    /// <summary>Subscriber that sends subscriptions as messages.</summary>
    XSub,
}
