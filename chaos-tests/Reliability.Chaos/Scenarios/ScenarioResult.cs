using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Scenarios;

/// <summary>One checked invariant of a scenario run.</summary>
/// <param name="Name">What must hold (for example <c>no request lost</c>).</param>
/// <param name="Held">Whether it held.</param>
/// <param name="Detail">The evidence: counts, times, or what went wrong.</param>
public sealed record InvariantResult(string Name, bool Held, string Detail);

/// <summary>When a fault was active and how fast the system recovered from it.</summary>
/// <param name="Name">The fault (and its heal).</param>
/// <param name="StartMs">Injection time, in scenario milliseconds.</param>
/// <param name="EndMs">Heal time (when the heal finished), or the injection time for faults without a heal.</param>
/// <param name="InFlightAtStart">Requests outstanding when the fault was injected.</param>
/// <param name="RecoveryMs">From <paramref name="EndMs"/> to the next correct reply; null when none came.</param>
/// <param name="ReRegistrationMs">From the heal to the first successful probe, when the step asked for probing.</param>
/// <param name="Error">Why the fault could not be injected or healed, if it could not.</param>
public sealed record FaultWindow(string Name, double StartMs, double EndMs, long InFlightAtStart, double? RecoveryMs, double? ReRegistrationMs, string? Error)
{
    /// <summary>
    /// The longest time without any correct reply, from the injection until the first reply after
    /// the heal: how long service actually stopped (null when no reply came after the fault).
    /// </summary>
    public double? StalledMs { get; init; }

    /// <summary>The largest latency among the requests that were in flight when the fault was injected (null when none were).</summary>
    public double? WorstInFlightMs { get; init; }
}

/// <summary>The broker's (or queue's) resident memory at one moment.</summary>
/// <param name="AtMs">Scenario time.</param>
/// <param name="Pid">The broker process (changes after a restart).</param>
/// <param name="Bytes">VmRSS.</param>
public sealed record MemorySample(double AtMs, int Pid, long Bytes);

/// <summary>Everything recorded about one scenario run.</summary>
public sealed record ScenarioResult
{
    /// <summary>The scenario's name.</summary>
    public required string Name { get; init; }

    /// <summary>The scenario's description.</summary>
    public required string Description { get; init; }

    /// <summary>What ran (commands, endpoints).</summary>
    public string Deployment { get; init; } = string.Empty;

    /// <summary>The workload client library, timeout and attempts.</summary>
    public string Client { get; init; } = string.Empty;

    /// <summary>Every request.</summary>
    public IReadOnlyList<RequestRecord> Requests { get; init; } = [];

    /// <summary>Every fault window.</summary>
    public IReadOnlyList<FaultWindow> Faults { get; init; } = [];

    /// <summary>Every invariant checked.</summary>
    public IReadOnlyList<InvariantResult> Invariants { get; init; } = [];

    /// <summary>Broker memory over time.</summary>
    public IReadOnlyList<MemorySample> Memory { get; init; } = [];

    /// <summary>Timestamped notes of the fault steps and the runner.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>
    /// The longest scheduling delay seen inside the kit's own process (a 50 ms timer firing late), in
    /// milliseconds. The clients and the fault proxies live there: a large value means the kit itself
    /// stalled (CPU starvation, GC), which can look like a network stall to the peers.
    /// </summary>
    public double KitLagMs { get; init; }

    /// <summary>Retries the workload's clients made.</summary>
    public long Retries { get; init; }

    /// <summary>How long the whole scenario took, start-up and teardown included.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Where the processes' output was copied, or null.</summary>
    public string? LogDirectory { get; init; }

    /// <summary>The seed of the scenario's randomness.</summary>
    public int Seed { get; init; }

    /// <summary>An error that stopped the scenario before its checks (start-up failure...), or null.</summary>
    public string? Error { get; init; }

    /// <summary>True when every invariant held and nothing stopped the run.</summary>
    public bool Passed => Error is null && Invariants.All(i => i.Held);

    /// <summary>Number of requests.</summary>
    public int RequestCount => Requests.Count;

    /// <summary>Requests answered correctly.</summary>
    public int Answered => Requests.Count(r => r.Outcome == RequestOutcome.Answered);

    /// <summary>Requests reported failed by the client library.</summary>
    public int Failed => Requests.Count(r => r.Outcome == RequestOutcome.Failed);

    /// <summary>Requests answered with another request's reply.</summary>
    public int WrongReplies => Requests.Count(r => r.Outcome == RequestOutcome.WrongReply);

    /// <summary>Requests that neither ended nor failed.</summary>
    public int Lost => Requests.Count(r => r.Outcome == RequestOutcome.Lost);

    /// <summary>The largest recovery time of any fault, in milliseconds; null when no fault had one.</summary>
    public double? MaxRecoveryMs => Faults.Select(f => f.RecoveryMs).Where(r => r is not null).Max();

    /// <summary>Latency percentile of answered requests, in milliseconds (0 when none).</summary>
    /// <param name="percentile">0..100.</param>
    /// <returns>The latency.</returns>
    public double LatencyPercentile(double percentile)
    {
        var sorted = Requests.Where(r => r.Outcome == RequestOutcome.Answered).Select(r => r.LatencyMs).Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        int index = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
