namespace Reliability.Chaos.Scenarios;

/// <summary>Where the Titanic nodes of a scenario keep their requests.</summary>
public enum TitanicStoreKind
{
    /// <summary>One SQLite file in a temporary directory (the default store).</summary>
    Sqlite,

    /// <summary>One database of a throwaway PostgreSQL cluster, shared by every node.</summary>
    Postgres,
}

/// <summary>Which process the Titanic scenario SIGKILLs.</summary>
public enum TitanicVictim
{
    /// <summary>The first Titanic node (<c>titanic-1</c>).</summary>
    Titanic,

    /// <summary>The Majordomo broker.</summary>
    Broker,
}

/// <summary>
/// A Titanic scenario (docs/patterns/titanic.md): the broker service and <c>titanic</c> nodes as child processes,
/// every request submitted with no worker running, then echo workers started; the kills happen at points of
/// progress (after a share of the acknowledgements, after a share of the worker executions), not on the clock,
/// so that "during submission" and "during dispatch" hold on a fast and on a loaded machine alike.
/// </summary>
public sealed record TitanicPlan
{
    /// <summary>Requests submitted (default 2,000).</summary>
    public int Requests { get; init; } = 2000;

    /// <summary>The store (default SQLite).</summary>
    public TitanicStoreKind Store { get; init; } = TitanicStoreKind.Sqlite;

    /// <summary>Titanic processes on the one store (default 1; more only with PostgreSQL).</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>The process killed (default the first Titanic node).</summary>
    public TitanicVictim Victim { get; init; } = TitanicVictim.Titanic;

    /// <summary>SIGKILLs while the requests are submitted, evenly spread over the acknowledgements.</summary>
    public int KillsDuringSubmission { get; init; }

    /// <summary>SIGKILLs while the stored requests are dispatched, evenly spread over the worker executions.</summary>
    public int KillsDuringDispatch { get; init; }

    /// <summary>Whether a victim killed during dispatch is started again (default true; false leaves the work to the other nodes).</summary>
    public bool RestartAfterDispatchKill { get; init; } = true;

    /// <summary>In-process echo workers started after the submission (default 2); they count executions per request.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Requests in hand at once, while submitting and while collecting (default 32).</summary>
    public int Window { get; init; } = 32;

    /// <summary>How long a killed process stays dead (default 500 ms).</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The nodes' <c>--dispatch-timeout</c>: when a request claimed by a dead node is sent again (default 2 s).</summary>
    public TimeSpan DispatchTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound on each phase (submission, collection); a request not through by then is lost (default 120 s).</summary>
    public TimeSpan PhaseLimit { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Requests is < 1 or > 1_000_000)
        {
            problems.Add($"Requests must be 1..1000000 (was {Requests})");
        }

        if (Nodes is < 1 or > 4 || (Nodes > 1 && Store != TitanicStoreKind.Postgres))
        {
            problems.Add($"Nodes must be 1, or 2..4 on PostgreSQL (was {Nodes} on {Store})");
        }

        if (KillsDuringSubmission is < 0 or > 20 || KillsDuringDispatch is < 0 or > 20)
        {
            problems.Add("at most 20 kills per phase");
        }

        if (Workers is < 1 or > 32 || Window is < 1 or > 256)
        {
            problems.Add($"Workers must be 1..32 and Window 1..256 (were {Workers}, {Window})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Titanic plan: " + string.Join("; ", problems) + ".");
        }
    }
}

/// <summary>The built-in Titanic scenarios (short profile: 2,000 requests, one kill per phase; long: 10,000, three).</summary>
public static class TitanicScenarios
{
    /// <summary>The Titanic scenarios of <paramref name="profile"/>.</summary>
    /// <param name="profile">Short or long.</param>
    /// <returns>The scenarios.</returns>
    public static IEnumerable<Scenario> For(Profile profile)
    {
        bool longRun = profile == Profile.Long;
        var plan = new TitanicPlan { Requests = longRun ? 10_000 : 2000, KillsDuringSubmission = longRun ? 3 : 1, KillsDuringDispatch = longRun ? 3 : 1 };
        const string Invariant = "Every acknowledged request must get exactly its own reply: 0 lost, 0 wrong, and no request run again once its reply was stored.";
        yield return new Scenario
        {
            Name = "titanic-killed",
            Description = $"{plan.Requests} requests are submitted to Titanic (SQLite) with no echo worker running; the titanic process is SIGKILLed {plan.KillsDuringSubmission}× during the submission and restarted, then the workers start and it is SIGKILLed {plan.KillsDuringDispatch}× during the dispatch and restarted. {Invariant}",
            Titanic = plan,
        };
        yield return new Scenario
        {
            Name = "titanic-broker-killed",
            Description = $"As titanic-killed, but the Majordomo broker is the process SIGKILLed and restarted on its port ({plan.KillsDuringSubmission}× during the submission, {plan.KillsDuringDispatch}× during the dispatch); Titanic and its SQLite store live on. {Invariant}",
            Titanic = plan with { Victim = TitanicVictim.Broker },
        };
        yield return new Scenario
        {
            Name = "titanic-pg-node-killed",
            Description = $"Two Titanic nodes on one PostgreSQL database (a throwaway cluster); {plan.Requests} requests submitted with no worker, then the workers start and one node is SIGKILLed {plan.KillsDuringDispatch}× mid-dispatch ({(longRun ? "restarted after each" : "and left dead")}): the other node takes over its claimed requests after the lease (the dispatch timeout) expires, and every request completes once. {Invariant}",
            Titanic = plan with { Store = TitanicStoreKind.Postgres, Nodes = 2, KillsDuringSubmission = 0, RestartAfterDispatchKill = longRun },
        };
    }
}
