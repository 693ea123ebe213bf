using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

/// <summary>A client request the broker holds: queued for a worker, or being worked on.</summary>
internal sealed class PendingRequest
{
    public PendingRequest(RoutingKey client, MdpVersion clientVersion, IReadOnlyList<ReadOnlyMemory<byte>> body, long queuedAt)
    {
        Client = client;
        ClientVersion = clientVersion;
        Body = body;
        QueuedAt = queuedAt;
        Node = new LinkedListNode<PendingRequest>(this);
    }

    /// <summary>The client's routing id: where the reply goes, and the client address the worker sees.</summary>
    public RoutingKey Client { get; }

    /// <summary>The client's MDP version: replies go back in it, whatever the worker speaks.</summary>
    public MdpVersion ClientVersion { get; }

    /// <summary>The body frames (received frames are owned by the message, not pooled, so keeping them is safe).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Body { get; }

    /// <summary>When it entered the queue (again, after a requeue); the request expires <see cref="BrokerOptions.RequestExpiry"/> later.</summary>
    public long QueuedAt { get; set; }

    /// <summary>How many times it was given back to the queue after its worker was lost.</summary>
    public int Requeues { get; set; }

    /// <summary>Whether PARTIAL replies were already forwarded (a requeued request may then repeat them).</summary>
    public bool PartialsSent { get; set; }

    /// <summary>Its node in its client's lane (reused on requeue).</summary>
    public LinkedListNode<PendingRequest> Node { get; }
}
