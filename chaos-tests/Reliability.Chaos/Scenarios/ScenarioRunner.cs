using System.Collections.Concurrent;
using System.Globalization;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Scenarios;

/// <summary>
/// Runs scenarios: starts the deployment, drives the workload while injecting the timed faults,
/// stops and reaps every process, and checks the invariants (see <see cref="ScenarioResult.Invariants"/>).
/// Usable from tests and from the command line.
/// </summary>
public sealed class ScenarioRunner
{
    private static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MemoryInterval = TimeSpan.FromMilliseconds(250);
    private readonly ChaosPrograms _programs;
    private readonly string? _logRoot;
    private readonly TextWriter? _log;

    /// <summary>Creates a runner.</summary>
    /// <param name="programs">The programs to run.</param>
    /// <param name="logRoot">Where each scenario's process output goes (a folder per scenario); none when null.</param>
    /// <param name="log">Progress lines (scenario started, faults injected); none when null.</param>
    public ScenarioRunner(ChaosPrograms programs, string? logRoot = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(programs);
        _programs = programs;
        _logRoot = logRoot;
        _log = log;
    }

    /// <summary>Runs one scenario. Never throws for a failure of the system under test: that is recorded in the result.</summary>
    /// <param name="scenario">The scenario.</param>
    /// <param name="progress">Live counters to update (for a progress display); a private one when null.</param>
    /// <param name="cancellationToken">Aborts the run (every process is still reaped).</param>
    /// <returns>The result.</returns>
    public async Task<ScenarioResult> RunAsync(Scenario scenario, WorkloadProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        if (scenario.Titanic is not null)
        {
            return await TitanicRun.RunAsync(scenario, _programs, _logRoot is null ? null : Path.Combine(_logRoot, scenario.Name), _log, cancellationToken).ConfigureAwait(false);
        }

        scenario.Workload.Validate();
        scenario.Deployment.Validate();
        progress ??= new WorkloadProgress();
        var time = TimeProvider.System;
        long started = time.GetTimestamp();
        string? logDirectory = _logRoot is null ? null : Path.Combine(_logRoot, scenario.Name);
        if (logDirectory is not null && Directory.Exists(logDirectory))
        {
            Directory.Delete(logDirectory, recursive: true);
        }

        string members = scenario.Deployment.Topology switch
        {
            Topology.BinaryStar => "a primary and a backup",
            Topology.MajordomoPair => $"a primary and a backup broker, {scenario.Deployment.Workers} worker(s)",
            Topology.Freelance => $"{scenario.Deployment.Workers} Freelance servers",
            _ => $"{scenario.Deployment.Workers} worker(s)",
        };
        _log?.WriteLine($"chaos: {scenario.Name}: starting {scenario.Deployment.Topology} with {members}");
        Deployment deployment;
        try
        {
            deployment = await Deployment.StartAsync(scenario.Deployment, _programs, logDirectory, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new ScenarioResult
            {
                Name = scenario.Name,
                Description = scenario.Description,
                Error = $"start-up failed: {ex.Message}",
                Duration = time.GetElapsedTime(started),
                LogDirectory = logDirectory,
                Seed = scenario.Seed,
            };
        }

        await using (deployment.ConfigureAwait(false))
        {
            return await RunStartedAsync(scenario, deployment, progress, started, logDirectory, cancellationToken).ConfigureAwait(false);
        }
    }

    private static FaultWindow[] ComputeRecovery(IReadOnlyList<FaultWindow> windows, IReadOnlyList<RequestRecord> records)
    {
        var answeredEnds = records.Where(r => r.Outcome == RequestOutcome.Answered).Select(r => r.EndMs).Order().ToArray();
        return [.. windows.Select(w =>
        {
            int index = Array.BinarySearch(answeredEnds, w.EndMs);
            index = index < 0 ? ~index : index;
            double? recovery = index < answeredEnds.Length ? answeredEnds[index] - w.EndMs : null;

            // Gaps between consecutive replies from the injection to the first reply after the heal.
            double? stalled = null;
            if (recovery is not null)
            {
                double previous = w.StartMs;
                double longest = 0;
                foreach (double end in answeredEnds.Where(e => e > w.StartMs && e <= answeredEnds[index]))
                {
                    longest = Math.Max(longest, end - previous);
                    previous = end;
                }

                stalled = longest;
            }

            var inFlight = records.Where(r => r.StartMs <= w.StartMs && r.EndMs >= w.StartMs).Select(r => r.LatencyMs).ToList();
            return w with
            {
                RecoveryMs = recovery,
                StalledMs = stalled,
                WorstInFlightMs = inFlight.Count > 0 ? inFlight.Max() : null,
            };
        })];
    }

    private static string Ms(double ms) => ms.ToString("F0", CultureInfo.InvariantCulture) + " ms";

    private async Task<ScenarioResult> RunStartedAsync(Scenario scenario, Deployment deployment, WorkloadProgress progress, long started, string? logDirectory, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var clock = new ScenarioClock(time);
        var context = new FaultContext(scenario, deployment, clock, progress, new Random(scenario.Seed));
        var windows = new ConcurrentQueue<FaultWindow>();
        var memory = new ConcurrentQueue<MemorySample>();
        using var workloadDone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = SampleMemoryAsync(deployment, clock, memory, workloadDone.Token);
        var lag = MeasureLagAsync(clock.TimeProvider, workloadDone.Token);
        var clients = new ConcurrentBag<IChaosClient>();
        var factory = deployment.ClientFactory(scenario.Workload);
        string clientDescription = string.Empty;
        ChaosClientFactory recording = (index, endpoint) =>
        {
            var client = factory(index, endpoint);
            clientDescription = client.Description;
            clients.Add(client);
            return client;
        };

        string runId = scenario.Name + "-" + clock.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var workload = WorkloadDriver.RunAsync(recording, deployment.ClientEndpoint, scenario.Workload, clock, progress, runId, cancellationToken);
        var faults = RunFaultsAsync(scenario, context, windows, cancellationToken);
        IReadOnlyList<RequestRecord> records = await workload.ConfigureAwait(false);
        double workloadEndMs = clock.NowMs;

        // Faults scheduled after the last request are still run (and healed), so every process is back before the checks.
        await faults.ConfigureAwait(false);
        if (deployment.DescribeTakeovers() is { } takeovers)
        {
            context.Note(takeovers);
            _log?.WriteLine($"chaos: {scenario.Name}: {takeovers}");
        }

        long retries = clients.Sum(c => SafeRetries(c));
        await workloadDone.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        double kitLag = await lag.ConfigureAwait(false);
        if (kitLag > 250)
        {
            context.Note($"the kit's own process stalled for up to {kitLag:F0} ms (a loaded machine); its clients and proxies paused meanwhile");
        }

        var unexpectedExits = deployment.Supervisor.AllChildren
            .Where(c => c.HasExited && !c.ExitRequested && !context.IsExitAllowed(c.Name))
            .Select(c => $"{c.Name} (pid {c.Pid}) exited with code {c.ExitCode}")
            .ToList();
        var forced = await deployment.StopAsync(GracefulStop).ConfigureAwait(false);
        foreach (var child in forced)
        {
            context.Note($"{child.Name} (pid {child.Pid}) did not exit within {GracefulStop.TotalSeconds:F0} s of SIGTERM and was killed");
        }

        var leaks = deployment.Supervisor.FindLeakedProcesses();
        var finalWindows = ComputeRecovery([.. windows.OrderBy(w => w.StartMs)], records);
        var invariants = CheckInvariants(scenario, records, finalWindows, [.. memory], unexpectedExits, leaks, workloadEndMs);
        var result = new ScenarioResult
        {
            Name = scenario.Name,
            Description = scenario.Description,
            Deployment = deployment.Describe(),
            Client = clientDescription,
            Requests = records,
            Faults = finalWindows,
            Invariants = invariants,
            Memory = [.. memory],
            Notes = context.Notes,
            Retries = retries,
            KitLagMs = kitLag,
            Duration = time.GetElapsedTime(started),
            LogDirectory = logDirectory,
            Seed = scenario.Seed,
        };
        _log?.WriteLine($"chaos: {scenario.Name}: {(result.Passed ? "passed" : "FAILED")} ({result.Answered}/{result.RequestCount} answered, {result.Failed} failed, {result.WrongReplies} wrong, {result.Lost} lost, {result.Duration.TotalSeconds:F1} s)");
        return result;
    }

    private static long SafeRetries(IChaosClient client)
    {
        try
        {
            return client.Retries;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
    }

    private static List<InvariantResult> CheckInvariants(
        Scenario scenario,
        IReadOnlyList<RequestRecord> records,
        IReadOnlyList<FaultWindow> windows,
        IReadOnlyList<MemorySample> memory,
        List<string> unexpectedExits,
        IReadOnlyList<int> leaks,
        double workloadEndMs)
    {
        var results = new List<InvariantResult>();
        int total = scenario.Workload.TotalRequests;
        var wrong = records.Where(r => r.Outcome == RequestOutcome.WrongReply).ToList();
        var lost = records.Where(r => r.Outcome == RequestOutcome.Lost).ToList();
        var failed = records.Where(r => r.Outcome == RequestOutcome.Failed).ToList();
        int duplicates = records.Count - records.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count();

        results.Add(new InvariantResult(
            "every success got the reply to that request",
            wrong.Count == 0 && duplicates == 0,
            wrong.Count == 0 && duplicates == 0
                ? $"{records.Count - failed.Count - lost.Count} replies matched their request ids"
                : $"{wrong.Count} wrong replies, {duplicates} duplicate records; first: {wrong.FirstOrDefault()?.Id} got {wrong.FirstOrDefault()?.Detail}"));

        results.Add(new InvariantResult(
            "no request lost",
            lost.Count == 0 && records.Count == total,
            lost.Count == 0 && records.Count == total
                ? $"all {total} requests ended as answered or reported failed"
                : $"{lost.Count} requests neither answered nor failed, {total - records.Count} never recorded; first: {lost.FirstOrDefault()?.Id}"));

        if (scenario.ExpectAllAnswered)
        {
            results.Add(new InvariantResult(
                "every request answered (retry budget covers the faults)",
                failed.Count == 0,
                failed.Count == 0
                    ? $"{total} of {total} answered"
                    : $"{failed.Count} failed; first: {failed[0].Id} at {Ms(failed[0].StartMs)}: {failed[0].Detail}"));
        }

        foreach (var (window, step) in windows.Zip(scenario.Faults.OrderBy(f => f.At)))
        {
            if (window.Error is not null)
            {
                results.Add(new InvariantResult($"fault '{window.Name}' injected", false, window.Error));
                continue;
            }

            if (window.RecoveryMs is null && window.EndMs < workloadEndMs - 1)
            {
                results.Add(new InvariantResult($"recovery after '{window.Name}'", false, "no correct reply after the fault"));
            }
            else if (step.RecoveryBound is { } bound)
            {
                bool held = window.RecoveryMs is null || window.RecoveryMs <= bound.TotalMilliseconds;
                results.Add(new InvariantResult(
                    $"recovery after '{window.Name}' within {Ms(bound.TotalMilliseconds)}",
                    held,
                    window.RecoveryMs is null ? "no request after the fault" : $"recovered in {Ms(window.RecoveryMs.Value)}"));
            }

            if (step.ReRegistrationBound is { } reRegistration)
            {
                bool held = window.ReRegistrationMs is { } ms && ms <= reRegistration.TotalMilliseconds;
                results.Add(new InvariantResult(
                    $"workers serving again after '{window.Name}' within {Ms(reRegistration.TotalMilliseconds)}",
                    held,
                    window.ReRegistrationMs is { } measured ? $"probe succeeded after {Ms(measured)}" : "probe never succeeded"));
            }
        }

        results.Add(new InvariantResult(
            "no process exited on its own",
            unexpectedExits.Count == 0,
            unexpectedExits.Count == 0 ? "every exit was a fault the scenario injected" : string.Join("; ", unexpectedExits)));

        results.Add(new InvariantResult(
            "no process leaks",
            leaks.Count == 0,
            leaks.Count == 0 ? "every child reaped" : "still present: pid " + string.Join(", ", leaks)));

        var byPid = memory.GroupBy(m => m.Pid).Where(g => g.Count() >= 4).ToList();
        if (byPid.Count > 0)
        {
            // Compare the second quarter of each broker's life with its end: start-up allocation (JIT, pools) is not growth.
            long growth = byPid.Max(g =>
            {
                var samples = g.OrderBy(m => m.AtMs).ToList();
                return samples[^1].Bytes - samples[samples.Count / 4].Bytes;
            });
            long peak = memory.Max(m => m.Bytes);
            results.Add(new InvariantResult(
                "broker memory bounded",
                growth <= scenario.MaxBrokerMemoryGrowthBytes,
                $"growth {growth / 1024.0 / 1024:F1} MiB (limit {scenario.MaxBrokerMemoryGrowthBytes / 1024.0 / 1024:F0} MiB), peak {peak / 1024.0 / 1024:F1} MiB"));
        }

        return results;
    }

    private async Task RunFaultsAsync(Scenario scenario, FaultContext context, ConcurrentQueue<FaultWindow> windows, CancellationToken cancellationToken)
    {
        var steps = scenario.Faults.OrderBy(f => f.At).ToList();

        // One step at a time: a step's heal (and probe) finishes before the next step is injected.
        foreach (var step in steps)
        {
            await context.Clock.WaitUntilAsync(step.At.TotalMilliseconds, cancellationToken).ConfigureAwait(false);
            double start = context.Clock.NowMs;
            long inFlight = context.Progress.InFlight;
            string name = step.HealName is null ? step.Name : $"{step.Name} → {step.HealName}";
            _log?.WriteLine($"chaos: {scenario.Name}: {start / 1000:F2} s: {step.Name} ({inFlight} requests in flight)");
            context.Note($"{step.Name} ({inFlight} requests in flight)");
            string? error = null;
            double end = start;
            double? reRegistration = null;
            try
            {
                await step.Inject(context, cancellationToken).ConfigureAwait(false);
                if (step.Heal is not null)
                {
                    await context.Clock.WaitUntilAsync(start + step.HealAfter.TotalMilliseconds, cancellationToken).ConfigureAwait(false);
                    await step.Heal(context, cancellationToken).ConfigureAwait(false);
                    end = context.Clock.NowMs;
                    _log?.WriteLine($"chaos: {scenario.Name}: {end / 1000:F2} s: {step.HealName}");
                    context.Note(step.HealName ?? "healed");
                }

                if (step.ReRegistrationBound is { } bound)
                {
                    var serving = await context.Deployment.WaitUntilServingAsync(bound + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                    reRegistration = serving.TotalMilliseconds;
                    context.Note($"serving again {Ms(reRegistration.Value)} after the heal");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                error = $"{ex.GetType().Name}: {ex.Message}";
                context.Note($"'{step.Name}' failed: {error}");
            }

            windows.Enqueue(new FaultWindow(name, start, end, inFlight, null, reRegistration, error));
        }
    }

    private static async Task<double> MeasureLagAsync(TimeProvider time, CancellationToken stop)
    {
        var interval = TimeSpan.FromMilliseconds(50);
        double worst = 0;
        try
        {
            // Bounded by the workload: cancelled when it ends.
            while (!stop.IsCancellationRequested)
            {
                long before = time.GetTimestamp();
                await Task.Delay(interval, time, stop).ConfigureAwait(false);
                worst = Math.Max(worst, (time.GetElapsedTime(before) - interval).TotalMilliseconds);
            }
        }
        catch (OperationCanceledException)
        {
            // The workload ended.
        }

        return worst;
    }

    private static async Task SampleMemoryAsync(Deployment deployment, ScenarioClock clock, ConcurrentQueue<MemorySample> samples, CancellationToken stop)
    {
        try
        {
            // Bounded by the workload: cancelled when it ends.
            while (!stop.IsCancellationRequested)
            {
                var broker = deployment.Broker;
                if (deployment.BrokerMemoryBytes() is { } bytes)
                {
                    samples.Enqueue(new MemorySample(clock.NowMs, broker.Pid, bytes));
                }

                await Task.Delay(MemoryInterval, clock.TimeProvider, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The workload ended.
        }
    }
}
