using Reliability.Transport;

namespace Reliability.Mdp.Broker;

/// <summary>What happened to a message the broker tried to send.</summary>
internal enum BrokerSendResult
{
    /// <summary>Queued for the peer.</summary>
    Sent,

    /// <summary>No connected peer has that routing id (ROUTER_MANDATORY's EHOSTUNREACH): the peer is gone.</summary>
    Unreachable,

    /// <summary>The peer's queue is full; the broker never waits (DONTWAIT), so the message was not sent.</summary>
    QueueFull,
}

/// <summary>
/// The broker core's only way out: a non-blocking send of a message whose first frame is the peer's
/// routing id, and the pausing of a peer's reading (flow control). The socket loop implements it on a
/// ROUTER with ROUTER_MANDATORY; tests record messages.
/// </summary>
internal interface IBrokerSender : IFlowSwitch
{
    /// <summary>Sends without waiting; never throws for an unreachable or slow peer.</summary>
    BrokerSendResult TrySend(Message message);
}
