using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.Queueing;

/// <summary>
/// A client request a queue or broker holds: waiting for a worker, or in flight at one. The
/// protocol's own data (envelope, body, version) is <see cref="Payload"/>; the bookkeeping every
/// requeueing server needs is here.
/// </summary>
/// <typeparam name="T">What the protocol keeps of the request.</typeparam>
internal sealed class PendingRequest<T>
{
    /// <summary>Creates a request received at <paramref name="receivedAt"/> and queued at the same moment.</summary>
    public PendingRequest(RoutingKey client, T payload, long receivedAt)
    {
        Client = client;
        Payload = payload;
        ReceivedAt = receivedAt;
        QueuedAt = receivedAt;
        Node = new LinkedListNode<PendingRequest<T>>(this);
    }

    /// <summary>The client's routing id: where the reply goes.</summary>
    public RoutingKey Client { get; }

    /// <summary>The protocol's data (received frames are owned by the message, not pooled, so keeping them is safe).</summary>
    public T Payload { get; }

    /// <summary>Timestamp at which the server received it; the requeue age limit counts from here.</summary>
    public long ReceivedAt { get; }

    /// <summary>When it entered the queue (again, after a requeue); queued requests expire from here.</summary>
    public long QueuedAt { get; set; }

    /// <summary>How many times it was given back to the queue after a worker it was delivered to was lost.</summary>
    public int Requeues { get; set; }

    /// <summary>Its node in whatever queue holds it (reused on requeue, so requeueing allocates nothing).</summary>
    public LinkedListNode<PendingRequest<T>> Node { get; }
}

/// <summary>Where a lost request goes back to: the queue it is served from.</summary>
/// <typeparam name="T">The request's payload.</typeparam>
internal interface IRequeueTarget<T>
{
    /// <summary>Takes back <paramref name="request"/>, which was already served once, ahead of every request not served yet.</summary>
    void Requeue(PendingRequest<T> request);
}

/// <summary>What became of a request whose worker died or expired before answering.</summary>
internal enum LostRequestFate
{
    /// <summary>Queued again at the head; the next free worker gets it before newer requests.</summary>
    Requeued,

    /// <summary>Dropped: it was already requeued the configured number of times (a request that kills workers must not kill them all).</summary>
    AbandonedRequeueLimit,

    /// <summary>Dropped: it is older than the requeue age limit, so its client has retried or given up.</summary>
    AbandonedTooOld,
}
