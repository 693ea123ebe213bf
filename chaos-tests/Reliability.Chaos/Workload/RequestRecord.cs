namespace Reliability.Chaos.Workload;

/// <summary>How one request of a workload ended.</summary>
public enum RequestOutcome
{
    /// <summary>The client library returned the reply to this very request.</summary>
    Answered,

    /// <summary>The client library reported the request as failed (it gave up after its retries).</summary>
    Failed,

    /// <summary>The client library returned a reply that belongs to another request: an invariant violation.</summary>
    WrongReply,

    /// <summary>Neither answered nor reported failed within the scenario's hard limit: an invariant violation.</summary>
    Lost,
}

/// <summary>One request of a workload: who sent it, when, how long it took, how it ended.</summary>
/// <param name="Id">The unique id carried in the request body (and expected back in the reply).</param>
/// <param name="Client">Index of the workload client that sent it.</param>
/// <param name="Sequence">Its number among that client's requests.</param>
/// <param name="StartMs">When it was sent, in milliseconds since the scenario started.</param>
/// <param name="EndMs">When it ended, in milliseconds since the scenario started.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">The error or the wrong reply, for failures.</param>
public sealed record RequestRecord(string Id, int Client, int Sequence, double StartMs, double EndMs, RequestOutcome Outcome, string? Detail = null)
{
    /// <summary>End minus start, in milliseconds.</summary>
    public double LatencyMs => EndMs - StartMs;
}
