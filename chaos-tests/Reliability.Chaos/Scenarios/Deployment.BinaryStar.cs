using System.Text.RegularExpressions;
using Reliability.Chaos.Network;
using Reliability.Chaos.Processes;

namespace Reliability.Chaos.Scenarios;

/// <summary>
/// The Binary Star side of a deployment: two bstarsrv processes (or two brokers, with workers registered
/// with both, for <see cref="Topology.MajordomoPair"/>), <c>primary</c> (also
/// <see cref="Broker"/>, so the broker faults act on it) and <c>backup</c>, each with a frontend and a
/// state endpoint, and one client proxy per frontend (<see cref="ClientLink"/> to the primary,
/// <see cref="WorkerLink"/> to the backup). The clients fail over between the two proxies.
/// </summary>
public sealed partial class Deployment
{
    private const string PrimaryName = "primary";
    private const string BackupName = "backup";

    // The states a bstarsrv logs on a change, e.g. "Binary Star Primary: Primary -> Passive (peer-active)".
    private static readonly Regex PassiveLine = new(@"Binary Star \w+: \w+ -> Passive", RegexOptions.CultureInvariant);
    private static readonly Regex ActiveLine = new(@"Binary Star \w+: \w+ -> Active", RegexOptions.CultureInvariant);

    private readonly Dictionary<string, string> _backupValues = new(StringComparer.Ordinal);
    private readonly List<TimeSpan> _takeovers = [];
    private int[] _backupPorts = [];

    /// <summary>Binary Star: the backup node's process now; after a restart, the new one.</summary>
    public ChildProcess Backup => Supervisor.Current(BackupName)!;

    /// <summary>Binary Star: every takeover measured by <see cref="KillActiveNodeAsync"/> so far (kill to the survivor's move to active), in order.</summary>
    public IReadOnlyList<TimeSpan> Takeovers
    {
        get
        {
            lock (_takeovers)
            {
                return [.. _takeovers];
            }
        }
    }

    /// <summary>Binary Star: the two client proxies' endpoints, primary first, as the clients list them.</summary>
    public IReadOnlyList<string> PairEndpoints => IsPair ? [ClientLink.Endpoint, WorkerLink.Endpoint] : [];

    /// <summary>
    /// Binary Star: SIGKILLs the (active) node and waits until the other one logs its move to active,
    /// which it makes on the first client request after the peer expiry, serving that request.
    /// </summary>
    /// <param name="primary">Kill the primary, or the backup.</param>
    /// <param name="timeout">How long the other node may take.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The time from the kill to the takeover.</returns>
    /// <exception cref="TimeoutException">The other node did not take over within <paramref name="timeout"/>.</exception>
    public async Task<TimeSpan> KillActiveNodeAsync(bool primary, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var victim = primary ? Broker : Backup;
        var survivor = primary ? Backup : Broker;
        long fromLine = survivor.LineCount;
        long killed = TimeProvider.System.GetTimestamp();
        victim.Kill();
        await survivor.WaitForOutputAsync(ActiveLine, timeout, fromLine, cancellationToken).ConfigureAwait(false);
        var took = TimeProvider.System.GetElapsedTime(killed);
        lock (_takeovers)
        {
            _takeovers.Add(took);
        }

        return took;
    }

    /// <summary>
    /// Binary Star: SIGKILLs the node if it runs, starts it again with the same endpoints, and waits
    /// until it reports the state the pair must give it (<paramref name="expectActive"/>: active, else passive).
    /// </summary>
    /// <param name="primary">The primary node, or the backup.</param>
    /// <param name="expectActive">Whether the restarted node must become active (no live peer) or passive.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>How long after the start the node reported that state.</returns>
    /// <exception cref="TimeoutException">It did not reach that state within <see cref="DeploymentOptions.StartTimeout"/>.</exception>
    public async Task<TimeSpan> RestartNodeAsync(bool primary, bool expectActive, CancellationToken cancellationToken)
    {
        var current = primary ? Broker : Backup;
        if (!current.HasExited)
        {
            current.Kill();
            await current.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }

        long started = TimeProvider.System.GetTimestamp();
        var node = primary
            ? await StartBrokerAsync(cancellationToken).ConfigureAwait(false)
            : await StartBackupAsync(cancellationToken).ConfigureAwait(false);
        await node.WaitForOutputAsync(expectActive ? ActiveLine : PassiveLine, Options.StartTimeout, 0, cancellationToken).ConfigureAwait(false);
        return TimeProvider.System.GetElapsedTime(started);
    }

    private static async Task<Deployment> StartPairAsync(DeploymentOptions options, ChaosPrograms programs, ProcessSupervisor supervisor, CancellationToken cancellationToken)
    {
        // Frontend and state port of the primary, then of the backup.
        var ports = FreePorts.Pick(4).ToArray();
        var deployment = new Deployment(options, programs, supervisor, [ports[0], ports[1]]);
        string primaryState = $"tcp://127.0.0.1:{ports[1]}";
        string backupState = $"tcp://127.0.0.1:{ports[3]}";
        deployment._brokerValues["role"] = "primary";
        deployment._brokerValues["local"] = primaryState;
        deployment._brokerValues["remote"] = backupState;
        foreach (var (key, value) in deployment._brokerValues)
        {
            deployment._backupValues[key] = value;
        }

        deployment._backupValues["role"] = "backup";
        deployment._backupValues["frontend"] = $"tcp://127.0.0.1:{ports[2]}";
        deployment._backupValues["bind"] = $"tcp://127.0.0.1:{ports[2]}";
        deployment._backupValues["port"] = ports[2].ToString(System.Globalization.CultureInfo.InvariantCulture);
        deployment._backupValues["local"] = backupState;
        deployment._backupValues["remote"] = primaryState;
        if (options.Topology == Topology.MajordomoPair)
        {
            // The broker service's Binary Star options, after the scenario's own.
            deployment._brokerValues["broker_options"] = $"{options.BrokerOptions} --ha-role primary --ha-local {primaryState} --ha-remote {backupState} --ha-heartbeat {deployment._brokerValues["heartbeat_ms"]}";
            deployment._backupValues["broker_options"] = $"{options.BrokerOptions} --ha-role backup --ha-local {backupState} --ha-remote {primaryState} --ha-heartbeat {deployment._brokerValues["heartbeat_ms"]}";
        }

        deployment._backupPorts = [ports[2], ports[3]];
        try
        {
            var primary = await deployment.StartBrokerAsync(cancellationToken).ConfigureAwait(false);
            var backup = await deployment.StartBackupAsync(cancellationToken).ConfigureAwait(false);
            deployment.ClientLink = new FaultProxy(ports[0]);
            deployment.WorkerLink = new FaultProxy(ports[2]);
            await primary.WaitForOutputAsync(ActiveLine, options.StartTimeout, 0, cancellationToken).ConfigureAwait(false);
            await backup.WaitForOutputAsync(PassiveLine, options.StartTimeout, 0, cancellationToken).ConfigureAwait(false);
            for (int i = 1; i <= deployment.WorkerCount; i++)
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

    private Task<ChildProcess> StartBackupAsync(CancellationToken cancellationToken) =>
        StartListeningAsync(
            BackupName,
            _programs.Command(Options.Topology == Topology.MajordomoPair ? ProgramRole.MdpBroker : ProgramRole.BstarServer, _backupValues),
            _backupPorts,
            cancellationToken);

    /// <summary>Binary Star: "N takeovers: p50 X ms, max Y ms" over <see cref="Takeovers"/>; null when there was none.</summary>
    /// <returns>The summary.</returns>
    public string? DescribeTakeovers()
    {
        var sorted = Takeovers.Select(t => t.TotalMilliseconds).Order().ToArray();
        return sorted.Length == 0
            ? null
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{sorted.Length} takeovers (kill → the other node active and serving): p50 {sorted[(sorted.Length - 1) / 2]:F0} ms, max {sorted[^1]:F0} ms");
    }

    private string DescribePair() =>
        $"{PrimaryName}: `{Broker.Command}`\n\n{BackupName}: `{Backup.Command}`\n\n" +
        $"client proxies {ClientLink.Endpoint} → {ClientLink.TargetPort} (primary), {WorkerLink.Endpoint} → {WorkerLink.TargetPort} (backup)" +
        (WorkerCount > 0 ? $"\n\nworkers ({WorkerCount}, registered with both brokers): `{Workers[0].Command}`" : string.Empty);
}
