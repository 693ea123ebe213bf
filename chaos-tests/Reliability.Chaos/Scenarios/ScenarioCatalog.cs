using Reliability.Chaos.Network;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Scenarios;

/// <summary>How much a run does: <see cref="Short"/> for CI, <see cref="Long"/> on demand.</summary>
public enum Profile
{
    /// <summary>Every scenario once with a modest load and small heartbeats: a few minutes in total on 2 cores.</summary>
    Short,

    /// <summary>More clients and requests, repeated faults, and randomly timed faults (seeded).</summary>
    Long,
}

/// <summary>The built-in scenarios, for both Majordomo and Paranoid Pirate.</summary>
public static partial class ScenarioCatalog
{
    /// <summary>Every scenario of <paramref name="profile"/>.</summary>
    /// <param name="profile">Short or long.</param>
    /// <param name="seed">Seed for the randomly timed faults of the long profile.</param>
    /// <returns>The scenarios, in run order.</returns>
    public static IReadOnlyList<Scenario> For(Profile profile, int seed = 1)
    {
        var scenarios = new List<Scenario>();
        foreach (var topology in new[] { Topology.Majordomo, Topology.ParanoidPirate })
        {
            scenarios.AddRange(Scripted(topology, profile));
        }

        scenarios.Add(BinaryStarFailover(profile));
        scenarios.Add(MajordomoPairFailover(profile, ClientKind.Majordomo));
        scenarios.Add(MajordomoPairFailover(profile, ClientKind.MajordomoAsync));
        scenarios.AddRange(TitanicScenarios.For(profile));
        scenarios.Add(FreelanceServersKilled(profile, seed));
        if (profile == Profile.Long)
        {
            scenarios.Add(Random(Topology.Majordomo, seed));
            scenarios.Add(Random(Topology.ParanoidPirate, seed + 1));
        }

        return scenarios;
    }

    /// <summary>The names of every scenario of <paramref name="profile"/>.</summary>
    /// <param name="profile">Short or long.</param>
    /// <returns>The names.</returns>
    public static IReadOnlyList<string> Names(Profile profile) => [.. For(profile).Select(s => s.Name)];

    /// <summary>
    /// The worst recovery a correct system may need after a fault: the liveness window (the fault is
    /// noticed), the workers' reconnect delay when they lost the broker, one client timeout (a retry
    /// that was just sent into the void), and 1.5 s slack for process start-up on a loaded machine.
    /// </summary>
    /// <param name="deployment">Heartbeat, liveness, reconnect delay.</param>
    /// <param name="workload">Client timeout.</param>
    /// <param name="workersReconnect">Whether the workers had to reconnect.</param>
    /// <returns>The bound.</returns>
    public static TimeSpan RecoveryBound(DeploymentOptions deployment, WorkloadOptions workload, bool workersReconnect)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(workload);
        return deployment.LivenessWindow
            + (workersReconnect ? deployment.WorkerReconnectDelay : TimeSpan.Zero)
            + workload.RequestTimeout
            + TimeSpan.FromMilliseconds(1500);
    }

    private static IEnumerable<Scenario> Scripted(Topology topology, Profile profile)
    {
        bool mdp = topology == Topology.Majordomo;
        string prefix = mdp ? "mdp" : "ppp";
        string broker = mdp ? "broker" : "queue";
        bool longRun = profile == Profile.Long;
        var deployment = new DeploymentOptions
        {
            Topology = topology,
            Workers = 3,
            Heartbeat = TimeSpan.FromMilliseconds(250),
            Liveness = 3,
            WorkerSlowness = TimeSpan.FromMilliseconds(20),
        };
        var workload = new WorkloadOptions
        {
            // Four clients keep three 20-50 ms workers well below saturation, also with one of them down.
            Clients = 4,
            RequestsPerClient = longRun ? 360 : 60,
            Pacing = TimeSpan.FromMilliseconds(80),
            RequestTimeout = TimeSpan.FromMilliseconds(1000),
            Attempts = 10,
        };
        var lw = deployment.LivenessWindow;
        var quick = RecoveryBound(deployment, workload, workersReconnect: false);
        var reconnect = RecoveryBound(deployment, workload, workersReconnect: true);
        var t = TimeSpan.FromMilliseconds(1200);

        // In the long profile every fault comes back a few times over the longer load.
        IEnumerable<TimeSpan> Times(TimeSpan first, TimeSpan every) => longRun
            ? Enumerable.Range(0, 4).Select(i => first + (every * i))
            : [first];

        yield return new Scenario
        {
            Name = $"{prefix}-worker-killed",
            Description = $"A worker is SIGKILLed while requests are in flight (workers take 40 ms per request); its request must be answered by another worker, via the {broker}'s requeue or the client's retry. The worker is restarted later.",
            Deployment = deployment with { WorkerSlowness = TimeSpan.FromMilliseconds(40) },
            Workload = workload,
            Faults = [.. Times(t, TimeSpan.FromSeconds(5)).Select((at, i) => Faults.KillWorker(at, i % 3, TimeSpan.FromSeconds(2)) with { RecoveryBound = quick })],
        };

        yield return new Scenario
        {
            Name = $"{prefix}-all-workers-killed",
            Description = $"Every worker is SIGKILLed, the service has no worker for a second, then all are restarted; requests sent meanwhile must be answered once workers are back.",
            Deployment = deployment,
            Workload = workload,
            Faults = [.. Times(t, TimeSpan.FromSeconds(6)).Select(at => Faults.KillAllWorkers(at, TimeSpan.FromSeconds(1)) with { RecoveryBound = reconnect })],
        };

        yield return new Scenario
        {
            Name = $"{prefix}-{broker}-restart",
            Description = $"The {broker} is SIGKILLed and restarted on the same port half a second later; clients and workers must recover by themselves, and workers must serve again within heartbeat × liveness + reconnect delay.",
            Deployment = deployment,
            Workload = workload,
            Faults = [.. Times(t, TimeSpan.FromSeconds(6)).Select(at => Faults.KillBroker(at, TimeSpan.FromMilliseconds(500), broker) with
            {
                RecoveryBound = reconnect,
                ReRegistrationBound = lw + deployment.WorkerReconnectDelay + TimeSpan.FromSeconds(1),
            })],
        };

        yield return new Scenario
        {
            Name = $"{prefix}-{broker}-paused",
            Description = $"The {broker} is frozen (SIGSTOP) for three liveness windows, so workers declare it dead and reconnect, then it resumes (SIGCONT) with stale connections and state; service must resume without wrong replies.",
            Deployment = deployment,
            Workload = workload,
            Faults = [.. Times(t, TimeSpan.FromSeconds(7)).Select(at => Faults.PauseBroker(at, lw * 3, broker) with { RecoveryBound = reconnect })],
        };

        yield return new Scenario
        {
            Name = $"{prefix}-worker-paused",
            Description = $"A worker is frozen (SIGSTOP) for three liveness windows while busy: the {broker} must expire it and the request must be answered elsewhere; when it resumes, its late reply must not reach the wrong request.",
            Deployment = deployment with { WorkerSlowness = TimeSpan.FromMilliseconds(40) },
            Workload = workload,
            Faults = [.. Times(t, TimeSpan.FromSeconds(5)).Select((at, i) => Faults.PauseWorker(at, i % 3, lw * 3) with { RecoveryBound = quick })],
        };

        yield return new Scenario
        {
            Name = $"{prefix}-partition",
            Description = $"The network between the {broker} and the workers is black-holed for 2 s (sockets stay open, nothing crosses), then healed; workers must be detected dead, reconnect, and serve again.",
            Deployment = deployment,
            Workload = workload,
            Faults = [.. Times(t, TimeSpan.FromSeconds(6)).Select(at => Faults.PartitionWorkers(at, TimeSpan.FromSeconds(2), broker) with { RecoveryBound = reconnect })],
        };

        yield return new Scenario
        {
            Name = $"{prefix}-slow-network",
            Description = "Both links get 40 ms ±20 ms latency per direction for 2.5 s under a heavier load (twice the clients); every request must still be answered, retries must not produce wrong replies.",
            Deployment = deployment,
            Workload = workload with { Clients = workload.Clients * 2 },
            Faults = [.. Times(t, TimeSpan.FromSeconds(6)).Select(at => Faults.SlowNetwork(at, TimeSpan.FromMilliseconds(2500), new NetworkConditions
            {
                Latency = TimeSpan.FromMilliseconds(40),
                Jitter = TimeSpan.FromMilliseconds(20),
            }) with { RecoveryBound = quick })],
        };

        yield return new Scenario
        {
            Name = $"{prefix}-client-killed",
            Description = $"A separate client process ({(mdp ? "mdclient" : "lpclient")}) is SIGKILLed with requests outstanding; the {broker}, the workers and the other clients must be unaffected.",
            Deployment = deployment,
            Workload = workload,
            Faults = Faults.KillClientProcess(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2)),
        };

        yield return new Scenario
        {
            Name = $"{prefix}-connections-reset",
            Description = "Every TCP connection of clients and workers is reset at once (RST); peers must reconnect and no request may be lost or answered wrongly.",
            Deployment = deployment,
            Workload = workload,
            Faults = [.. Times(t, TimeSpan.FromSeconds(5)).Select(at => Faults.ResetConnections(at) with { RecoveryBound = reconnect })],
        };

        if (mdp)
        {
            yield return new Scenario
            {
                Name = "mdp-async-broker-restart",
                Description = "The asynchronous Majordomo client keeps 4 requests outstanding per client while the broker is SIGKILLed and restarted; every request must complete with its own reply.",
                Deployment = deployment with { Client = ClientKind.MajordomoAsync },
                Workload = workload with { Window = 4, Pacing = TimeSpan.FromMilliseconds(320) },
                Faults = [.. Times(t, TimeSpan.FromSeconds(6)).Select(at => Faults.KillBroker(at, TimeSpan.FromMilliseconds(500)) with { RecoveryBound = reconnect })],
            };

            yield return new Scenario
            {
                Name = "mdp-async-client-partition",
                Description = "The link between the asynchronous clients (4 requests outstanding each) and the broker is black-holed for 2 s, so requests time out and are resent while their replies are held; when it heals, the held replies arrive late and must never complete another request.",
                Deployment = deployment with { Client = ClientKind.MajordomoAsync },
                Workload = workload with { Window = 4, Pacing = TimeSpan.FromMilliseconds(320) },
                Faults = [.. Times(t, TimeSpan.FromSeconds(6)).Select(at => Faults.PartitionClients(at, TimeSpan.FromSeconds(2)) with { RecoveryBound = quick })],
            };

            yield return new Scenario
            {
                Name = "mdp-flood",
                Description = "Asynchronous clients send bursts of 100 requests each, far over the broker's (lowered) per-client and per-service limits, so the broker holds them back by flow control; meanwhile a worker is SIGKILLed and the broker restarted. Every request must be answered with its own reply; none may be dropped for a full queue.",
                Deployment = deployment with
                {
                    Client = ClientKind.MajordomoAsync,
                    WorkerSlowness = TimeSpan.FromMilliseconds(5),
                    BrokerOptions = "--max-client-queue 40 --max-queue 60",
                },
                Workload = workload with { Window = 100, Pacing = TimeSpan.FromSeconds(2), RequestsPerClient = longRun ? 1500 : 300, RequestTimeout = TimeSpan.FromSeconds(4) },
                Faults =
                [
                    Faults.KillWorker(t, 0, TimeSpan.FromSeconds(1)) with { RecoveryBound = quick },
                    Faults.KillBroker(t + TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500)) with { RecoveryBound = reconnect },
                ],
            };

            yield return new Scenario
            {
                Name = "mdp-v02-broker-restart",
                Description = "MDP/0.2 workers and clients (DEALER) through a broker SIGKILL and restart on the same port, then a worker SIGKILL.",
                Deployment = deployment with { MdpVersion = Reliability.Mdp.Protocol.MdpVersion.V02 },
                Workload = workload,
                Faults =
                [
                    .. Times(t, TimeSpan.FromSeconds(6)).Select(at => Faults.KillBroker(at, TimeSpan.FromMilliseconds(500)) with { RecoveryBound = reconnect }),
                    Faults.KillWorker(t + TimeSpan.FromSeconds(longRun ? 21 : 2.5), 0, TimeSpan.FromSeconds(1)) with { RecoveryBound = quick },
                ],
            };
        }
    }

    /// <summary>
    /// The worst failover a correct Binary Star pair and client may need: two heartbeats (the passive
    /// node's peer expiry), one client timeout (the request that went to the dead node), the settle
    /// delay, a second timeout and settle when the first resend came before the expiry, and 1.5 s slack.
    /// </summary>
    /// <param name="deployment">Heartbeat and settle delay.</param>
    /// <param name="workload">Client timeout.</param>
    /// <returns>The bound.</returns>
    public static TimeSpan FailoverBound(DeploymentOptions deployment, WorkloadOptions workload)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(workload);
        var resend = workload.RequestTimeout + deployment.SettleDelay;
        var cycles = resend >= deployment.Heartbeat * 2 ? 1 : 2;
        return (deployment.Heartbeat * 2) + (resend * cycles) + TimeSpan.FromMilliseconds(1500);
    }

    /// <summary>
    /// Binary Star: the active primary is SIGKILLed under load and the backup must take over; the
    /// primary restarts and must come back passive; then the backup (now active) is killed and the
    /// primary must take over; the backup restarts passive. The long profile repeats the cycle ten times.
    /// </summary>
    private static Scenario BinaryStarFailover(Profile profile)
    {
        bool longRun = profile == Profile.Long;
        var deployment = new DeploymentOptions
        {
            Topology = Topology.BinaryStar,
            Heartbeat = TimeSpan.FromMilliseconds(250),
            SettleDelay = TimeSpan.FromMilliseconds(300),
        };
        var workload = new WorkloadOptions
        {
            Clients = 4,
            RequestsPerClient = longRun ? 1400 : 160,
            Pacing = TimeSpan.FromMilliseconds(60),
            RequestTimeout = TimeSpan.FromMilliseconds(700),
            Attempts = 10,
        };
        var bound = FailoverBound(deployment, workload);
        var cycle = TimeSpan.FromSeconds(8);
        var faults = new List<FaultStep>();
        // Long: ten cycles, so twenty kills give the takeover times' p50 and max.
        for (int i = 0; i < (longRun ? 10 : 1); i++)
        {
            var start = TimeSpan.FromSeconds(1) + (cycle * i);
            faults.Add(Faults.KillActiveNode(start, primary: true, bound));
            faults.Add(Faults.RestartNodePassive(start + TimeSpan.FromSeconds(2), primary: true));
            faults.Add(Faults.KillActiveNode(start + TimeSpan.FromSeconds(4), primary: false, bound));
            faults.Add(Faults.RestartNodePassive(start + TimeSpan.FromSeconds(6), primary: false));
        }

        return new Scenario
        {
            Name = "bstar-failover",
            Description = $"A Binary Star pair of echo servers (heartbeat 250 ms) under load from failover clients: the active primary is SIGKILLed and the backup must serve within {bound.TotalMilliseconds:F0} ms; the primary restarts and must come back passive; then the active backup is killed, the primary must take over, and the backup restarts passive.",
            Deployment = deployment,
            Workload = workload,
            Faults = faults,
        };
    }

    /// <summary>
    /// A Binary Star pair of Majordomo brokers (the broker service with <c>--ha-role</c>), three echo
    /// workers registered with both, failover clients (sync or async): the same kill/restart cycle as
    /// <c>bstar-failover</c>. A request the dying broker held is resent to the other one, so every
    /// request must be answered.
    /// </summary>
    private static Scenario MajordomoPairFailover(Profile profile, ClientKind client)
    {
        var pair = BinaryStarFailover(profile);
        var deployment = pair.Deployment with
        {
            Topology = Topology.MajordomoPair,
            Client = client,
            Workers = 3,
            WorkerSlowness = TimeSpan.FromMilliseconds(20),
        };
        bool async = client == ClientKind.MajordomoAsync;
        return pair with
        {
            Name = async ? "mdp-async-bstar-failover" : "mdp-bstar-failover",
            Description = $"A Binary Star pair of Majordomo brokers (state heartbeat 250 ms), three workers registered with both, {(async ? "asynchronous" : "synchronous")} failover Majordomo clients: the active primary broker is SIGKILLed and the backup must serve within {FailoverBound(deployment, pair.Workload).TotalMilliseconds:F0} ms with the workers it already holds; the primary restarts passive; then the active backup is killed, the primary takes over, and the backup restarts passive.",
            Deployment = deployment,
        };
    }

    private static Scenario Random(Topology topology, int seed)
    {
        bool mdp = topology == Topology.Majordomo;
        var deployment = new DeploymentOptions { Topology = topology, Workers = 4, WorkerSlowness = TimeSpan.FromMilliseconds(20) };
        var workload = new WorkloadOptions { Clients = 6, RequestsPerClient = 500, Pacing = TimeSpan.FromMilliseconds(80), Attempts = 15 };
        var random = new Random(seed);
        var faults = new List<FaultStep>();
        var at = TimeSpan.FromSeconds(1);
        var end = workload.NominalDuration - TimeSpan.FromSeconds(4);

        // Bounded by the workload's nominal duration; each fault is healed before the next starts.
        for (int i = 0; i < 100 && at < end; i++)
        {
            var length = TimeSpan.FromMilliseconds(random.Next(300, 2500));
            int worker = random.Next(deployment.Workers);
            var step = random.Next(7) switch
            {
                0 => Faults.KillWorker(at, worker, length),
                1 => Faults.PauseWorker(at, worker, length),
                2 => Faults.KillBroker(at, TimeSpan.FromMilliseconds(random.Next(0, 1000)), mdp ? "broker" : "queue"),
                3 => Faults.PauseBroker(at, length, mdp ? "broker" : "queue"),
                4 => Faults.PartitionWorkers(at, length, mdp ? "broker" : "queue"),
                5 => Faults.SlowNetwork(at, length, new NetworkConditions { Latency = TimeSpan.FromMilliseconds(random.Next(5, 80)), Jitter = TimeSpan.FromMilliseconds(random.Next(0, 40)) }),
                _ => Faults.ResetConnections(at),
            };
            faults.Add(step);
            at += length + TimeSpan.FromMilliseconds(random.Next(1500, 4000));
        }

        return new Scenario
        {
            Name = $"{(mdp ? "mdp" : "ppp")}-random",
            Description = $"Randomly chosen and timed faults (seed {seed}) over a long load: worker kills and pauses, {(mdp ? "broker" : "queue")} kills and pauses, partitions, slow links, connection resets. Every request must be answered correctly.",
            Deployment = deployment,
            Workload = workload,
            Faults = faults,
            Seed = seed,
        };
    }
}
