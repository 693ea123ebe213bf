using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Store;

/// <summary>
/// Where Titanic keeps requests and replies (docs/patterns/titanic.md, "Stores"). Every method that changes
/// something returns only once the change is durable. An engine is one class implementing this; the
/// contract tests (TitanicStoreContract) say what each must do.
/// </summary>
internal interface ITitanicStore : IAsyncDisposable
{
    /// <summary>Most requests held at once (pending and answered); <see cref="AddRequestAsync"/> refuses more.</summary>
    int MaxRequests { get; }

    /// <summary>Stores a new request for <paramref name="service"/>.</summary>
    /// <returns>Its id (<see cref="Tsp.NewId"/>), or null when the store already holds <see cref="MaxRequests"/>.</returns>
    Task<string?> AddRequestAsync(string service, Message request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims up to <paramref name="max"/> requests that have no reply and no lease running at <paramref name="now"/>,
    /// oldest first, and leases them until <paramref name="leaseUntil"/>: they are not claimed again before, so a
    /// request is retried only after its lease ran out (its worker died, or it had none).
    /// </summary>
    Task<IReadOnlyList<StoredRequest>> ClaimAsync(int max, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the lease of the unanswered request of <paramref name="claim"/> to <paramref name="retryAt"/>: it is claimed
    /// again then, sooner than its lease would allow (its service had no worker) or later. Nothing happens when it is
    /// answered or gone, or when it was claimed again since (<see cref="StoredRequest.Attempts"/> moved on): a lease
    /// that ran out belongs to whoever claimed the request next, and only the latest claim may move it.
    /// </summary>
    Task RetryAtAsync(StoredRequest claim, DateTimeOffset retryAt, CancellationToken cancellationToken = default);

    /// <summary>Stores the reply of request <paramref name="id"/> unless it has one already: a stored reply is never replaced.</summary>
    /// <returns>True when stored; false when the request already had a reply or is gone (closed or expired).</returns>
    Task<bool> AddReplyAsync(string id, Message reply, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>What the store knows of request <paramref name="id"/>.</summary>
    Task<ReplyLookup> GetReplyAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes request <paramref name="id"/> and its reply; nothing happens when it is unknown.</summary>
    Task CloseAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes the requests whose reply was stored before <paramref name="repliedBefore"/> (the reply time to live ran out).</summary>
    /// <returns>How many were deleted.</returns>
    Task<int> ExpireAsync(DateTimeOffset repliedBefore, CancellationToken cancellationToken = default);

    /// <summary>How many requests the store holds (pending and answered).</summary>
    Task<int> CountAsync(CancellationToken cancellationToken = default);
}

/// <summary>A request claimed for dispatch.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Service">The target service.</param>
/// <param name="Body">The request frames.</param>
/// <param name="Attempts">How many times it has been claimed, this claim included (it also tells this claim from later ones).</param>
internal sealed record StoredRequest(string Id, string Service, Message Body, int Attempts);

/// <summary>The state of a request in the store.</summary>
internal enum ReplyState
{
    /// <summary>Never stored, closed, or expired.</summary>
    Unknown,

    /// <summary>Stored, no reply yet.</summary>
    Pending,

    /// <summary>Answered: the reply is there.</summary>
    Answered,
}

/// <summary>The answer of <see cref="ITitanicStore.GetReplyAsync"/>.</summary>
/// <param name="State">Whether the request is known and answered.</param>
/// <param name="Reply">The reply frames when <see cref="ReplyState.Answered"/>.</param>
internal readonly record struct ReplyLookup(ReplyState State, Message? Reply);
