using Reliability.Transport;

namespace Reliability.Patterns.Queueing;

/// <summary>What happened to a message a queue or broker tried to send to one peer without waiting.</summary>
internal enum PeerSendResult
{
    /// <summary>Queued for the peer.</summary>
    Sent,

    /// <summary>No connected peer has that routing id (ROUTER_MANDATORY's EHOSTUNREACH): the peer is gone.</summary>
    Unreachable,

    /// <summary>The peer's queue is full; the broker never waits (DONTWAIT), so the message was not sent.</summary>
    QueueFull,
}

/// <summary>A non-blocking send to the peer named by a message's first frame (its routing id).</summary>
internal interface IPeerSender
{
    /// <summary>Sends without waiting; never throws for an unreachable or slow peer.</summary>
    PeerSendResult TrySend(Message message);
}
