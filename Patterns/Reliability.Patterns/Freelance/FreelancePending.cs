using Reliability.Transport;

namespace Reliability.Patterns.Freelance;

/// <summary>
/// One request inside a <see cref="FreelanceCore"/>: the caller's body and task, plus the core's
/// bookkeeping (sequence, deadline, which server the current try went to). Completed at most once.
/// </summary>
internal sealed class FreelancePending(Message body, TimeSpan? timeout)
{
    private readonly TaskCompletionSource<Message> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The frames the caller asked to send (never changed; each try copies them).</summary>
    public Message Body { get; } = body;

    /// <summary>This request's own deadline, or null for <see cref="FreelanceOptions.RequestTimeout"/>.</summary>
    public TimeSpan? Timeout { get; } = timeout;

    /// <summary>Completes with the reply frames after the sequence.</summary>
    public Task<Message> Task => _completion.Task;

    public long Sequence { get; set; }

    public ReadOnlyMemory<byte> SequenceFrame { get; set; }

    public long Deadline { get; set; }

    /// <summary>Tries sent so far (a shotgun try to every server counts once).</summary>
    public int Tries { get; set; }

    /// <summary>Index of the server the current try went to; -1 before the first, or while no server is alive.</summary>
    public int Server { get; set; } = -1;

    /// <summary>Bumped on every try, so timer entries of an earlier try are recognised as stale.</summary>
    public int Version { get; set; }

    public void Complete(Message reply) => _completion.TrySetResult(reply);

    public void Fail(Exception error) => _completion.TrySetException(error);

    public void Cancel(CancellationToken token) => _completion.TrySetCanceled(token);
}

/// <summary>Counts of a Freelance client since it was created.</summary>
/// <param name="Requests">Requests submitted.</param>
/// <param name="Replies">Requests answered.</param>
/// <param name="Retries">Tries after the first of their request (try timeout or server lost).</param>
/// <param name="Failed">Requests that reached their deadline unanswered.</param>
/// <param name="Cancelled">Requests the caller cancelled.</param>
/// <param name="LateReplies">Replies whose sequence was not outstanding (late, duplicated or a shotgun's losers), dropped.</param>
/// <param name="Invalid">Messages that broke the wire (unknown sender, bad control frame), dropped.</param>
public readonly record struct FreelanceStatistics(
    long Requests, long Replies, long Retries, long Failed, long Cancelled, long LateReplies, long Invalid);
