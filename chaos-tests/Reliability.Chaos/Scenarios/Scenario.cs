using Reliability.Chaos.Processes;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Scenarios;

/// <summary>What a fault step can reach while it runs: the deployment, the clock, the live counters.</summary>
public sealed class FaultContext
{
    private readonly List<string> _notes = [];
    private readonly HashSet<string> _allowedExits = new(StringComparer.Ordinal);

    internal FaultContext(Scenario scenario, Deployment deployment, ScenarioClock clock, WorkloadProgress progress, Random random)
    {
        Scenario = scenario;
        Deployment = deployment;
        Clock = clock;
        Progress = progress;
        Random = random;
    }

    /// <summary>The scenario being run.</summary>
    public Scenario Scenario { get; }

    /// <summary>The processes and links under test.</summary>
    public Deployment Deployment { get; }

    /// <summary>The scenario clock.</summary>
    public ScenarioClock Clock { get; }

    /// <summary>Live counters of the workload.</summary>
    public WorkloadProgress Progress { get; }

    /// <summary>Seeded randomness (victims, timings), so a run can be repeated.</summary>
    public Random Random { get; }

    /// <summary>Extra processes a step started (for example a client to kill later), by name.</summary>
    public Dictionary<string, ChildProcess> Extras { get; } = new(StringComparer.Ordinal);

    internal IReadOnlyList<string> Notes
    {
        get
        {
            lock (_notes)
            {
                return [.. _notes];
            }
        }
    }

    /// <summary>Adds a timestamped line to the scenario's report.</summary>
    /// <param name="text">The note.</param>
    public void Note(string text)
    {
        lock (_notes)
        {
            _notes.Add($"{Clock.NowMs / 1000:F2} s: {text}");
        }
    }

    /// <summary>Declares that process <paramref name="name"/> may exit on its own (a client program that finishes).</summary>
    /// <param name="name">The process name.</param>
    public void AllowExit(string name)
    {
        lock (_allowedExits)
        {
            _allowedExits.Add(name);
        }
    }

    internal bool IsExitAllowed(string name)
    {
        lock (_allowedExits)
        {
            return _allowedExits.Contains(name);
        }
    }
}

/// <summary>An action of a fault step (inject or heal).</summary>
/// <param name="context">The running scenario.</param>
/// <param name="cancellationToken">Ends the action early.</param>
/// <returns>A task that completes when the action is done (for a restart: when the process listens again).</returns>
public delegate Task FaultAction(FaultContext context, CancellationToken cancellationToken);

/// <summary>
/// One timed fault: injected <see cref="At"/> after the workload starts, healed
/// <see cref="HealAfter"/> later when it has a <see cref="Heal"/> action. Recovery is measured from
/// the heal (or from the injection, for faults without one) to the next correct reply.
/// </summary>
public sealed record FaultStep
{
    /// <summary>What happens, for reports (for example <c>SIGKILL worker-1</c>).</summary>
    public required string Name { get; init; }

    /// <summary>When it is injected, after the workload starts.</summary>
    public required TimeSpan At { get; init; }

    /// <summary>Injects the fault.</summary>
    public required FaultAction Inject { get; init; }

    /// <summary>How long after the injection the heal runs (default zero).</summary>
    public TimeSpan HealAfter { get; init; }

    /// <summary>Undoes the fault (restart, resume, heal the link); null for faults that are not undone.</summary>
    public FaultAction? Heal { get; init; }

    /// <summary>What the heal does, for reports (for example <c>restart worker-1</c>).</summary>
    public string? HealName { get; init; }

    /// <summary>When set, the measured recovery time must not exceed it (an invariant).</summary>
    public TimeSpan? RecoveryBound { get; init; }

    /// <summary>
    /// When set, after the heal the runner probes the system (Majordomo: MMI <c>mmi.service</c> says
    /// 200; Paranoid Pirate: an echo is answered) and requires success within this bound: how fast
    /// workers re-register after a broker restart.
    /// </summary>
    public TimeSpan? ReRegistrationBound { get; init; }
}

/// <summary>A scenario: a deployment, a workload, a list of timed faults, and what must hold afterwards.</summary>
public sealed record Scenario
{
    /// <summary>A unique, command-line friendly name (for example <c>mdp-broker-restart</c>).</summary>
    public required string Name { get; init; }

    /// <summary>One or two sentences: what is done and what must survive it.</summary>
    public required string Description { get; init; }

    /// <summary>What runs.</summary>
    public DeploymentOptions Deployment { get; init; } = new();

    /// <summary>The request load.</summary>
    public WorkloadOptions Workload { get; init; } = new();

    /// <summary>The faults, in any order (run by <see cref="FaultStep.At"/>).</summary>
    public IReadOnlyList<FaultStep> Faults { get; init; } = [];

    /// <summary>
    /// When true (the default) every request must be answered: the clients' retry budget is large
    /// enough to ride out every fault of the scenario, so a failed request is an invariant violation.
    /// </summary>
    public bool ExpectAllAnswered { get; init; } = true;

    /// <summary>The seed of <see cref="FaultContext.Random"/>.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// When set, a Titanic scenario: the runner runs this plan (its own processes, phases and checks) instead of
    /// <see cref="Deployment"/>, <see cref="Workload"/> and <see cref="Faults"/>.
    /// </summary>
    public TitanicPlan? Titanic { get; init; }

    /// <summary>Largest accepted growth of the broker's resident memory across the run (default 128 MiB).</summary>
    public long MaxBrokerMemoryGrowthBytes { get; init; } = 128L * 1024 * 1024;
}
