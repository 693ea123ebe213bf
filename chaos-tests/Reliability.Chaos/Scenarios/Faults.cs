using System.Globalization;
using Reliability.Chaos.Network;

namespace Reliability.Chaos.Scenarios;

/// <summary>Ready-made fault steps: process faults (kill, stop, pause, restart) and network faults (partition, slow link, reset).</summary>
public static partial class Faults
{
    /// <summary>SIGKILL worker <paramref name="index"/> (0-based), optionally starting it again later.</summary>
    /// <param name="at">When.</param>
    /// <param name="index">Which worker.</param>
    /// <param name="restartAfter">When set, the worker is started again this long after the kill.</param>
    /// <returns>The step.</returns>
    public static FaultStep KillWorker(TimeSpan at, int index, TimeSpan? restartAfter = null) => new()
    {
        Name = $"SIGKILL worker-{index + 1}",
        At = at,
        Inject = (context, _) =>
        {
            context.Deployment.Workers[index].Kill();
            return Task.CompletedTask;
        },
        HealAfter = restartAfter ?? TimeSpan.Zero,
        Heal = restartAfter is null ? null : async (context, token) => await context.Deployment.RestartWorkerAsync(index, token).ConfigureAwait(false),
        HealName = restartAfter is null ? null : $"restart worker-{index + 1}",
    };

    /// <summary>SIGKILL every worker, then start them all again.</summary>
    /// <param name="at">When.</param>
    /// <param name="restartAfter">How long the service has no worker.</param>
    /// <returns>The step.</returns>
    public static FaultStep KillAllWorkers(TimeSpan at, TimeSpan restartAfter) => new()
    {
        Name = "SIGKILL all workers",
        At = at,
        Inject = (context, _) =>
        {
            foreach (var worker in context.Deployment.Workers)
            {
                worker.Kill();
            }

            return Task.CompletedTask;
        },
        HealAfter = restartAfter,
        Heal = async (context, token) =>
        {
            for (int i = 0; i < context.Deployment.Workers.Count; i++)
            {
                await context.Deployment.RestartWorkerAsync(i, token).ConfigureAwait(false);
            }
        },
        HealName = "restart all workers",
    };

    /// <summary>SIGKILL the broker (or queue) and start it again on the same port.</summary>
    /// <param name="at">When.</param>
    /// <param name="downFor">How long it stays dead.</param>
    /// <param name="label">What to call it in reports (<c>broker</c> or <c>queue</c>).</param>
    /// <returns>The step.</returns>
    public static FaultStep KillBroker(TimeSpan at, TimeSpan downFor, string label = "broker") => new()
    {
        Name = $"SIGKILL {label}",
        At = at,
        Inject = (context, _) =>
        {
            context.Deployment.Broker.Kill();
            return Task.CompletedTask;
        },
        HealAfter = downFor,
        Heal = async (context, token) => await context.Deployment.RestartBrokerAsync(token).ConfigureAwait(false),
        HealName = $"restart {label} (same port)",
    };

    /// <summary>SIGSTOP the broker (or queue), SIGCONT it later: a hang with its sockets open.</summary>
    /// <param name="at">When.</param>
    /// <param name="duration">How long it is frozen.</param>
    /// <param name="label">What to call it in reports (<c>broker</c> or <c>queue</c>).</param>
    /// <returns>The step.</returns>
    public static FaultStep PauseBroker(TimeSpan at, TimeSpan duration, string label = "broker") => new()
    {
        Name = $"SIGSTOP {label} for {Ms(duration)}",
        At = at,
        Inject = (context, _) =>
        {
            context.Deployment.Broker.Pause();
            return Task.CompletedTask;
        },
        HealAfter = duration,
        Heal = (context, _) =>
        {
            context.Deployment.Broker.Resume();
            return Task.CompletedTask;
        },
        HealName = $"SIGCONT {label}",
    };

    /// <summary>SIGSTOP worker <paramref name="index"/> (0-based), SIGCONT it later: a worker hung while (likely) busy.</summary>
    /// <param name="at">When.</param>
    /// <param name="index">Which worker.</param>
    /// <param name="duration">How long it is frozen.</param>
    /// <returns>The step.</returns>
    public static FaultStep PauseWorker(TimeSpan at, int index, TimeSpan duration) => new()
    {
        Name = $"SIGSTOP worker-{index + 1} for {Ms(duration)}",
        At = at,
        Inject = (context, _) =>
        {
            context.Deployment.Workers[index].Pause();
            return Task.CompletedTask;
        },
        HealAfter = duration,
        Heal = (context, _) =>
        {
            context.Deployment.Workers[index].Resume();
            return Task.CompletedTask;
        },
        HealName = $"SIGCONT worker-{index + 1}",
    };

    /// <summary>Black-holes the link between the workers and the broker (or queue backend), then heals it.</summary>
    /// <param name="at">When.</param>
    /// <param name="duration">How long the partition lasts.</param>
    /// <param name="label">What to call the broker in reports (<c>broker</c> or <c>queue</c>).</param>
    /// <returns>The step.</returns>
    public static FaultStep PartitionWorkers(TimeSpan at, TimeSpan duration, string label = "broker") => new()
    {
        Name = $"partition {label}↔workers for {Ms(duration)}",
        At = at,
        Inject = (context, _) =>
        {
            context.Deployment.WorkerLink.Conditions = NetworkConditions.Partitioned;
            return Task.CompletedTask;
        },
        HealAfter = duration,
        Heal = (context, _) =>
        {
            context.Deployment.WorkerLink.Heal();
            return Task.CompletedTask;
        },
        HealName = "heal partition",
    };

    /// <summary>Black-holes the link between the clients and the broker (or queue frontend), then heals it.</summary>
    /// <param name="at">When.</param>
    /// <param name="duration">How long the partition lasts.</param>
    /// <param name="label">What to call the broker in reports (<c>broker</c> or <c>queue</c>).</param>
    /// <returns>The step.</returns>
    public static FaultStep PartitionClients(TimeSpan at, TimeSpan duration, string label = "broker") => new()
    {
        Name = $"partition clients↔{label} for {Ms(duration)}",
        At = at,
        Inject = (context, _) =>
        {
            context.Deployment.ClientLink.Conditions = NetworkConditions.Partitioned;
            return Task.CompletedTask;
        },
        HealAfter = duration,
        Heal = (context, _) =>
        {
            context.Deployment.ClientLink.Heal();
            return Task.CompletedTask;
        },
        HealName = "heal partition",
    };

    /// <summary>Applies <paramref name="conditions"/> (latency, jitter, bandwidth) to both links for a while.</summary>
    /// <param name="at">When.</param>
    /// <param name="duration">How long.</param>
    /// <param name="conditions">The slow network.</param>
    /// <returns>The step.</returns>
    public static FaultStep SlowNetwork(TimeSpan at, TimeSpan duration, NetworkConditions conditions) => new()
    {
        Name = $"slow network ({conditions}) for {Ms(duration)}",
        At = at,
        Inject = (context, _) =>
        {
            context.Deployment.ClientLink.Conditions = conditions;
            context.Deployment.WorkerLink.Conditions = conditions;
            return Task.CompletedTask;
        },
        HealAfter = duration,
        Heal = (context, _) =>
        {
            context.Deployment.ClientLink.Heal();
            context.Deployment.WorkerLink.Heal();
            return Task.CompletedTask;
        },
        HealName = "network healthy",
    };

    /// <summary>Resets (RST) every TCP connection on both links at once; peers must reconnect.</summary>
    /// <param name="at">When.</param>
    /// <returns>The step.</returns>
    public static FaultStep ResetConnections(TimeSpan at) => new()
    {
        Name = "reset all connections",
        At = at,
        Inject = (context, _) =>
        {
            int count = context.Deployment.ClientLink.ResetAll() + context.Deployment.WorkerLink.ResetAll();
            context.Note($"{count} connections reset");
            return Task.CompletedTask;
        },
    };

    /// <summary>
    /// Starts a client program (mdclient or lpclient) as a child process that sends many requests,
    /// and SIGKILLs it <paramref name="killAfter"/> later with requests outstanding.
    /// </summary>
    /// <param name="at">When the client starts.</param>
    /// <param name="killAfter">How long it sends before it is killed.</param>
    /// <returns>The steps (start, kill).</returns>
    public static IReadOnlyList<FaultStep> KillClientProcess(TimeSpan at, TimeSpan killAfter)
    {
        const string Name = "client-process";
        return
        [
            new FaultStep
            {
                Name = "start a client process",
                At = at,
                Inject = (context, _) =>
                {
                    context.Extras[Name] = context.Deployment.StartClientProcess(Name, 1_000_000, TimeSpan.FromSeconds(1), 10);
                    return Task.CompletedTask;
                },
            },
            new FaultStep
            {
                Name = "SIGKILL the client process",
                At = at + killAfter,
                Inject = (context, _) =>
                {
                    var client = context.Extras[Name];
                    if (client.HasExited)
                    {
                        throw new InvalidOperationException($"the client process exited on its own with code {client.ExitCode} before it could be killed:\n{client.OutputTail()}");
                    }

                    client.Kill();
                    return Task.CompletedTask;
                },
            },
        ];
    }

    /// <summary>
    /// Binary Star: SIGKILL the active node and leave it dead, then wait until the other node reports
    /// that it took over (it does so on the first client request after its peer expiry, and serves
    /// that request). The step fails when that takes longer than <paramref name="bound"/>; it is also
    /// the step's <see cref="FaultStep.RecoveryBound"/>.
    /// </summary>
    /// <param name="at">When.</param>
    /// <param name="primary">Kill the primary (the backup must take over), or the backup.</param>
    /// <param name="bound">The longest acceptable takeover.</param>
    /// <returns>The step.</returns>
    public static FaultStep KillActiveNode(TimeSpan at, bool primary, TimeSpan bound) => new()
    {
        Name = $"SIGKILL {(primary ? "primary" : "backup")} (active)",
        At = at,
        RecoveryBound = bound,
        Inject = async (context, token) =>
        {
            var took = await context.Deployment.KillActiveNodeAsync(primary, bound, token).ConfigureAwait(false);
            context.Note($"{(primary ? "backup" : "primary")} took over and served {Ms(took)} after the kill");
        },
    };

    /// <summary>
    /// Binary Star: start a killed node again (same endpoints) and require that it comes back in the
    /// state the pair must give it: passive next to an active peer (the step fails otherwise).
    /// </summary>
    /// <param name="at">When.</param>
    /// <param name="primary">The primary node, or the backup.</param>
    /// <returns>The step.</returns>
    public static FaultStep RestartNodePassive(TimeSpan at, bool primary) => new()
    {
        Name = $"restart {(primary ? "primary" : "backup")}, must come back passive",
        At = at,
        Inject = async (context, token) =>
        {
            var took = await context.Deployment.RestartNodeAsync(primary, expectActive: false, token).ConfigureAwait(false);
            context.Note($"{(primary ? "primary" : "backup")} passive {Ms(took)} after its restart");
        },
    };

    private static string Ms(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + " ms";
}
