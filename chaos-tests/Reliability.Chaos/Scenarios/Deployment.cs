using System.Globalization;
using Reliability.Chaos.Network;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Workload;
using Reliability.Mdp.Protocol;

namespace Reliability.Chaos.Scenarios;

/// <summary>Which reliable request-reply system a scenario exercises.</summary>
public enum Topology
{
    /// <summary>Majordomo: a broker (the broker service), echo workers and Majordomo clients.</summary>
    Majordomo,

    /// <summary>Paranoid Pirate: a queue, echo workers and Lazy Pirate clients.</summary>
    ParanoidPirate,

    /// <summary>Binary Star: a primary and a backup echo server (bstarsrv), failover Lazy Pirate clients; no workers.</summary>
    BinaryStar,

    /// <summary>A Binary Star pair of Majordomo brokers (the broker service with <c>--ha-role</c>), echo workers registered with both, failover Majordomo clients.</summary>
    MajordomoPair,

    /// <summary>Freelance (brokerless): <see cref="DeploymentOptions.Workers"/> flserver echo servers, Freelance clients connected straight to all of them; no broker, no proxy.</summary>
    Freelance,
}

/// <summary>Which in-process client library the workload uses.</summary>
public enum ClientKind
{
    /// <summary>The topology's natural client: <see cref="Majordomo"/> for Majordomo, <see cref="LazyPirate"/> for Paranoid Pirate.</summary>
    Default,

    /// <summary>The synchronous Majordomo client (retries on a fresh socket).</summary>
    Majordomo,

    /// <summary>The asynchronous Majordomo client (many requests outstanding; resent after a timeout).</summary>
    MajordomoAsync,

    /// <summary>The Lazy Pirate client.</summary>
    LazyPirate,

    /// <summary>The Lazy Pirate client in failover mode over both nodes of a Binary Star pair.</summary>
    BinaryStar,

    /// <summary>The Freelance client (model 3) over every server of a Freelance group.</summary>
    Freelance,
}

/// <summary>The processes and links of a scenario: what runs and how it is tuned.</summary>
public sealed record DeploymentOptions
{
    /// <summary>The system under test (default Majordomo).</summary>
    public Topology Topology { get; init; } = Topology.Majordomo;

    /// <summary>Echo workers (default 3, 1..32); Freelance: the servers.</summary>
    public int Workers { get; init; } = 3;

    /// <summary>Heartbeat interval of the broker/queue and the workers (default 250 ms: small, so faults are detected quickly).</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Missed heartbeats before a peer counts as dead (default 3).</summary>
    public int Liveness { get; init; } = 3;

    /// <summary>How long each worker takes per request (default 20 ms), so that a killed or paused worker is likely holding one.</summary>
    public TimeSpan WorkerSlowness { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The Majordomo service the workers offer (default <c>echo</c>).</summary>
    public string Service { get; init; } = "echo";

    /// <summary>
    /// The workers' reconnect delay after they declare the broker dead (default 2500 ms, the worker
    /// library's default). Used only for the re-registration bound.
    /// </summary>
    public TimeSpan WorkerReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>The workload's client library (default: the topology's own).</summary>
    public ClientKind Client { get; init; } = ClientKind.Default;

    /// <summary>Majordomo protocol version of the workers and of the workload's clients (default MDP/0.1).</summary>
    public MdpVersion MdpVersion { get; init; } = MdpVersion.V01;

    /// <summary>
    /// Whether workers reach the broker through the worker-side <see cref="FaultProxy"/> (default
    /// true). Without it, network faults on the worker link have no effect, but the workers' traffic
    /// does not pass through the kit's process (useful to tell a kit stall from a system stall).
    /// </summary>
    public bool ProxyWorkers { get; init; } = true;

    /// <summary>Binary Star only: the clients' pause before resending to the other node (default 2000 ms, as bstarcli).</summary>
    public TimeSpan SettleDelay { get; init; } = TimeSpan.FromMilliseconds(2000);

    /// <summary>
    /// Further options for our broker service, e.g. smaller flow-control limits (default none). They reach the
    /// default broker command through its <c>{broker_options}</c> placeholder; a custom template may leave them out.
    /// </summary>
    public string BrokerOptions { get; init; } = string.Empty;

    /// <summary>Upper bound on starting the broker and getting a first reply (default 30 s).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Heartbeat × liveness: how long a silent peer lives on.</summary>
    public TimeSpan LivenessWindow => Heartbeat * Liveness;

    /// <summary>The client library actually used.</summary>
    public ClientKind EffectiveClient => Client != ClientKind.Default
        ? Client
        : Topology switch
        {
            Topology.Majordomo or Topology.MajordomoPair => ClientKind.Majordomo,
            Topology.BinaryStar => ClientKind.BinaryStar,
            Topology.Freelance => ClientKind.Freelance,
            _ => ClientKind.LazyPirate,
        };

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Workers is < 1 or > 32)
        {
            problems.Add($"Workers must be 1..32 (was {Workers})");
        }

        if (Heartbeat < TimeSpan.FromMilliseconds(10) || Heartbeat > TimeSpan.FromMinutes(1))
        {
            problems.Add($"Heartbeat must be 10 ms..1 min (was {Heartbeat})");
        }

        if (Liveness is < 1 or > 100)
        {
            problems.Add($"Liveness must be 1..100 (was {Liveness})");
        }

        if (WorkerSlowness < TimeSpan.Zero || WorkerSlowness > TimeSpan.FromMinutes(1))
        {
            problems.Add($"WorkerSlowness must be 0..1 min (was {WorkerSlowness})");
        }

        if (string.IsNullOrWhiteSpace(Service))
        {
            problems.Add("Service must be named");
        }

        if (Topology == Topology.ParanoidPirate && EffectiveClient != ClientKind.LazyPirate)
        {
            problems.Add("Paranoid Pirate queues are served by the Lazy Pirate client only");
        }

        if (Topology is Topology.Majordomo or Topology.MajordomoPair && EffectiveClient is ClientKind.LazyPirate or ClientKind.BinaryStar)
        {
            problems.Add("a Majordomo broker needs a Majordomo client");
        }

        if ((Topology == Topology.BinaryStar) != (EffectiveClient == ClientKind.BinaryStar))
        {
            problems.Add("a Binary Star pair is served by the Binary Star client, and only it");
        }

        if ((Topology == Topology.Freelance) != (EffectiveClient == ClientKind.Freelance))
        {
            problems.Add("a Freelance group is served by the Freelance client, and only it");
        }

        if (SettleDelay < TimeSpan.Zero || SettleDelay > TimeSpan.FromMinutes(1))
        {
            problems.Add($"SettleDelay must be 0..1 min (was {SettleDelay})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid deployment: " + string.Join("; ", problems) + ".");
        }
    }
}

/// <summary>
/// A running system under test: the broker (or queue) and workers as child processes, a
/// <see cref="FaultProxy"/> on the client side and one on the worker side, and fault operations on
/// all of them. Clients connect to <see cref="ClientEndpoint"/>, workers to the worker proxy.
/// A Binary Star pair has no workers: see <c>Deployment.BinaryStar.cs</c>.
/// </summary>
public sealed partial class Deployment : IAsyncDisposable
{
    private const string BrokerName = "broker";
    private const string QueueName = "queue";
    private readonly ChaosPrograms _programs;
    private readonly int[] _ports;
    private readonly Dictionary<string, string> _brokerValues;

    private Deployment(DeploymentOptions options, ChaosPrograms programs, ProcessSupervisor supervisor, int[] ports)
    {
        Options = options;
        _programs = programs;
        Supervisor = supervisor;
        _ports = ports;
        _brokerValues = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["heartbeat_ms"] = Ms(options.Heartbeat),
            ["broker_options"] = options.BrokerOptions,
            ["liveness"] = options.Liveness.ToString(CultureInfo.InvariantCulture),
            ["port"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["bind"] = $"tcp://127.0.0.1:{ports[0]}",
            ["frontend"] = $"tcp://127.0.0.1:{ports[0]}",
            ["backend"] = $"tcp://127.0.0.1:{ports[^1]}",
        };
    }

    /// <summary>The settings.</summary>
    public DeploymentOptions Options { get; }

    /// <summary>The supervisor of every process of the deployment.</summary>
    public ProcessSupervisor Supervisor { get; }

    /// <summary>The proxy between the clients and the broker (or queue frontend; Binary Star: the primary's frontend).</summary>
    public FaultProxy ClientLink { get; private set; } = null!;

    /// <summary>The proxy between the workers and the broker (or queue backend; Binary Star: between the clients and the backup's frontend).</summary>
    public FaultProxy WorkerLink { get; private set; } = null!;

    /// <summary>Where in-process clients connect (through <see cref="ClientLink"/>; Freelance: the first server, the clients use <see cref="ServerEndpoints"/>).</summary>
    public string ClientEndpoint => IsFreelance ? _serverEndpoints[0] : ClientLink.Endpoint;

    /// <summary>The broker (Majordomo), queue (Paranoid Pirate), primary (Binary Star) or first server (Freelance) process now; after a restart, the new one.</summary>
    public ChildProcess Broker => Supervisor.Current(BrokerProcessName)!;

    /// <summary>The name of the broker or queue process.</summary>
    public string BrokerProcessName => Options.Topology switch
    {
        Topology.Majordomo => BrokerName,
        Topology.BinaryStar or Topology.MajordomoPair => PrimaryName,
        Topology.Freelance => ServerName(1),
        _ => QueueName,
    };

    /// <summary>The worker processes now (index 0 is <c>worker-1</c>); none for Binary Star.</summary>
    public IReadOnlyList<ChildProcess> Workers =>
        [.. Enumerable.Range(1, WorkerCount).Select(i => Supervisor.Current(WorkerName(i))!)];

    private int WorkerCount => Options.Topology is Topology.BinaryStar or Topology.Freelance ? 0 : Options.Workers;

    /// <summary>Whether the deployment is a Binary Star pair (of echo servers or of brokers).</summary>
    private bool IsPair => Options.Topology is Topology.BinaryStar or Topology.MajordomoPair;

    /// <summary>A readable summary of the processes and links, for reports.</summary>
    public string Describe() => IsPair
        ? DescribePair()
        : IsFreelance ? DescribeFreelance()
        : $"{BrokerProcessName}: `{Broker.Command}`\n\nworkers ({Options.Workers}): `{Workers[0].Command}`\n\n" +
          $"client proxy {ClientLink.Endpoint} → {ClientLink.TargetPort}, worker proxy {WorkerLink.Endpoint} → {WorkerLink.TargetPort}";

    /// <summary>
    /// Starts the broker (or queue), the two proxies and the workers, and waits until a request is answered.
    /// </summary>
    /// <param name="options">What to run.</param>
    /// <param name="programs">The programs.</param>
    /// <param name="logDirectory">Where the processes' output is copied; none when null.</param>
    /// <param name="cancellationToken">Ends the start early.</param>
    /// <returns>The running deployment.</returns>
    public static async Task<Deployment> StartAsync(DeploymentOptions options, ChaosPrograms programs, string? logDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(programs);
        options.Validate();
        var supervisor = new ProcessSupervisor(logDirectory);
        if (options.Topology is Topology.BinaryStar or Topology.MajordomoPair)
        {
            return await StartPairAsync(options, programs, supervisor, cancellationToken).ConfigureAwait(false);
        }

        if (options.Topology == Topology.Freelance)
        {
            return await StartFreelanceAsync(options, programs, supervisor, cancellationToken).ConfigureAwait(false);
        }

        var ports = FreePorts.Pick(options.Topology == Topology.Majordomo ? 1 : 2).ToArray();
        var deployment = new Deployment(options, programs, supervisor, [.. ports]);
        try
        {
            await deployment.StartBrokerAsync(cancellationToken).ConfigureAwait(false);
            deployment.ClientLink = new FaultProxy(ports[0]);
            deployment.WorkerLink = new FaultProxy(ports[^1]);
            for (int i = 1; i <= options.Workers; i++)
            {
                supervisor.Start(WorkerName(i), deployment.WorkerCommand());
            }

            await deployment.WaitUntilServingAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Kills the broker (or queue) if it runs and starts it again on the same port(s); returns when it listens.</summary>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The new process.</returns>
    public async Task<ChildProcess> RestartBrokerAsync(CancellationToken cancellationToken)
    {
        var current = Broker;
        if (!current.HasExited)
        {
            current.Kill();
            await current.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }

        return await StartBrokerAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Kills worker <paramref name="index"/> (0-based) if it runs and starts it again.</summary>
    /// <param name="index">The worker.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The new process.</returns>
    public Task<ChildProcess> RestartWorkerAsync(int index, CancellationToken cancellationToken) =>
        Supervisor.RestartAsync(Workers[index], cancellationToken);

    /// <summary>Starts a client program (mdclient or lpclient) as a child process, connected through <see cref="ClientLink"/>.</summary>
    /// <param name="name">Its process name.</param>
    /// <param name="requests">Requests it sends.</param>
    /// <param name="timeout">Its per-attempt timeout.</param>
    /// <param name="retries">Its retries.</param>
    /// <returns>The process.</returns>
    public ChildProcess StartClientProcess(string name, int requests, TimeSpan timeout, int retries)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["endpoint"] = ClientEndpoint,
            ["service"] = Options.Service,
            ["requests"] = requests.ToString(CultureInfo.InvariantCulture),
            ["timeout_ms"] = Ms(timeout),
            ["retries"] = retries.ToString(CultureInfo.InvariantCulture),
            ["mdp"] = Options.MdpVersion.Number(),
        };
        var role = Options.Topology is Topology.Majordomo or Topology.MajordomoPair ? ProgramRole.MdpClient : ProgramRole.LpClient;
        return Supervisor.Start(name, _programs.Command(role, values));
    }

    /// <summary>Creates workload clients of the deployment's <see cref="DeploymentOptions.EffectiveClient"/> kind.</summary>
    /// <param name="workload">Timeout and attempts of the clients.</param>
    /// <returns>The factory.</returns>
    public ChaosClientFactory ClientFactory(WorkloadOptions workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var kind = Options.EffectiveClient;
        var version = Options.MdpVersion;
        var pair = PairEndpoints;
        var settle = Options.SettleDelay;
        return (_, endpoint) => kind switch
        {
            ClientKind.LazyPirate => new LazyPirateChaosClient(endpoint, workload.RequestTimeout, workload.Attempts),
            ClientKind.BinaryStar => new LazyPirateChaosClient(pair, workload.RequestTimeout, workload.Attempts, settle),
            ClientKind.Freelance => NewFreelanceClient(workload.RequestTimeout, workload.Attempts),
            ClientKind.MajordomoAsync => new MajordomoAsyncChaosClient(pair.Count > 0 ? pair : [endpoint], workload.RequestTimeout, workload.Attempts, version, settle),
            _ => new MajordomoChaosClient(pair.Count > 0 ? pair : [endpoint], workload.RequestTimeout, workload.Attempts, version, settle),
        };
    }

    /// <summary>
    /// One probe: under Majordomo an MMI <c>mmi.service</c> lookup that must say <c>200</c> (a worker
    /// is registered); under Paranoid Pirate an echo request that must be answered.
    /// </summary>
    /// <param name="timeout">How long the probe waits for its answer.</param>
    /// <param name="cancellationToken">Ends the probe early.</param>
    /// <returns>True when the system serves.</returns>
    public async Task<bool> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            if (Options.Topology is Topology.Majordomo or Topology.MajordomoPair)
            {
                // A pair is probed at both brokers in turn: whichever is active answers.
                await using var mmi = PairEndpoints.Count > 0
                    ? new MajordomoChaosClient(PairEndpoints, timeout, 2, Options.MdpVersion, TimeSpan.Zero)
                    : new MajordomoChaosClient([ClientEndpoint], timeout, 1, Options.MdpVersion, TimeSpan.Zero);
                return await mmi.QueryServiceAsync(Options.Service, cancellationToken).ConfigureAwait(false) == "200";
            }

            await using IChaosClient client = Options.Topology switch
            {
                Topology.BinaryStar => new LazyPirateChaosClient(PairEndpoints, timeout, 2, TimeSpan.Zero),
                Topology.Freelance => NewFreelanceClient(timeout, 1),
                _ => new LazyPirateChaosClient(ClientEndpoint, timeout, 1),
            };
            var reply = await client.RequestAsync(Options.Service, Reliability.Transport.Message.FromStrings("probe"), cancellationToken).ConfigureAwait(false);
            return reply.Count == 1 && reply.GetString(0) == "probe";
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Probes until the system serves; returns how long that took.</summary>
    /// <param name="timeout">Upper bound.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The time until the first successful probe.</returns>
    /// <exception cref="TimeoutException">Not serving within <paramref name="timeout"/>.</exception>
    public async Task<TimeSpan> WaitUntilServingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        long start = time.GetTimestamp();
        for (int probe = 0; probe < 10_000 && time.GetElapsedTime(start) < timeout; probe++)
        {
            if (Broker.HasExited)
            {
                throw new InvalidOperationException($"{BrokerProcessName} exited with code {Broker.ExitCode}:\n{Broker.OutputTail()}");
            }

            if (await ProbeAsync(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false))
            {
                return time.GetElapsedTime(start);
            }
        }

        string others = IsPair
            ? $"{BackupName} output:\n{Backup.OutputTail()}"
            : WorkerCount == 0 ? string.Empty
            : $"worker-1 output:\n{Workers[0].OutputTail()}";
        throw new TimeoutException($"the {Options.Topology} deployment did not serve within {timeout.TotalSeconds:F0} s; {BrokerProcessName} output:\n{Broker.OutputTail()}\n{others}");
    }

    /// <summary>Resident memory of the broker (or queue) process now, in bytes; null when it is not running.</summary>
    /// <returns>The VmRSS value.</returns>
    public long? BrokerMemoryBytes()
    {
        var broker = Broker;
        if (broker.HasExited)
        {
            return null;
        }

        try
        {
            foreach (string line in File.ReadLines($"/proc/{broker.Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    string kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
            // Exited meanwhile.
        }

        return null;
    }

    /// <summary>Stops every process (SIGTERM, then SIGKILL after <paramref name="grace"/>) and closes the proxies.</summary>
    /// <param name="grace">Time for a graceful exit.</param>
    /// <returns>The processes that had to be killed.</returns>
    public async Task<IReadOnlyList<ChildProcess>> StopAsync(TimeSpan grace)
    {
        var forced = await Supervisor.StopAllAsync(grace).ConfigureAwait(false);
        await DisposeProxiesAsync().ConfigureAwait(false);
        return forced;
    }

    /// <summary>Kills everything that still runs and closes the proxies.</summary>
    /// <returns>A task that completes when every process is reaped.</returns>
    public async ValueTask DisposeAsync()
    {
        await Supervisor.DisposeAsync().ConfigureAwait(false);
        await DisposeProxiesAsync().ConfigureAwait(false);
    }

    private static string WorkerName(int number) => "worker-" + number.ToString(CultureInfo.InvariantCulture);

    private static string Ms(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private async Task DisposeProxiesAsync()
    {
        if (ClientLink is not null)
        {
            await ClientLink.DisposeAsync().ConfigureAwait(false);
        }

        if (WorkerLink is not null)
        {
            await WorkerLink.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ProgramCommand WorkerCommand()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["endpoint"] = Options.ProxyWorkers ? WorkerLink.Endpoint : $"tcp://127.0.0.1:{_ports[^1]}",
            ["service"] = Options.Service,
            ["heartbeat_ms"] = Ms(Options.Heartbeat),
            ["liveness"] = Options.Liveness.ToString(CultureInfo.InvariantCulture),
            ["slow_ms"] = Ms(Options.WorkerSlowness),
            ["mdp"] = Options.MdpVersion.Number(),
        };
        if (Options.Topology == Topology.MajordomoPair)
        {
            // Registered with both brokers, directly (the proxies are the clients' links to the pair).
            values["endpoint"] = _brokerValues["bind"];
            values["worker_options"] = "--endpoint " + _backupValues["bind"];
        }

        return _programs.Command(Options.Topology is Topology.Majordomo or Topology.MajordomoPair ? ProgramRole.MdpWorker : ProgramRole.PppWorker, values);
    }

    private Task<ChildProcess> StartBrokerAsync(CancellationToken cancellationToken)
    {
        var role = Options.Topology switch
        {
            Topology.Majordomo or Topology.MajordomoPair => ProgramRole.MdpBroker,
            Topology.BinaryStar => ProgramRole.BstarServer,
            _ => ProgramRole.PppQueue,
        };
        return StartListeningAsync(BrokerProcessName, _programs.Command(role, _brokerValues), _ports, cancellationToken);
    }

    /// <summary>Starts <paramref name="name"/> and returns once it listens on every one of <paramref name="ports"/>.</summary>
    private async Task<ChildProcess> StartListeningAsync(string name, ProgramCommand command, int[] ports, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;

        // A just-killed process's port can be briefly unavailable; a new process that fails to bind exits, so retry a few times.
        for (int attempt = 1; ; attempt++)
        {
            var broker = Supervisor.Start(name, command);
            long start = time.GetTimestamp();
            while (!broker.HasExited && time.GetElapsedTime(start) < Options.StartTimeout)
            {
                bool all = true;
                foreach (int port in ports)
                {
                    all &= await FreePorts.IsListeningAsync(port, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }

                if (all && !broker.HasExited)
                {
                    return broker;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken).ConfigureAwait(false);
            }

            if (!broker.HasExited)
            {
                throw new TimeoutException($"{name} did not listen on port(s) {string.Join(", ", ports)} within {Options.StartTimeout.TotalSeconds:F0} s:\n{broker.OutputTail()}");
            }

            if (attempt >= 5)
            {
                throw new InvalidOperationException($"{name} exited with code {broker.ExitCode} on {attempt} starts in a row:\n{broker.OutputTail()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), time, cancellationToken).ConfigureAwait(false);
        }
    }
}
