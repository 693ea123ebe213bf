using System.Collections.Concurrent;
using System.Globalization;
using Reliability.Chaos.Network;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Workload;
using Reliability.Mdp.Client;
using Reliability.Mdp.Titanic;
using Reliability.Mdp.Worker;
using Reliability.Testing.Postgres;
using Reliability.Transport;

namespace Reliability.Chaos.Scenarios;

/// <summary>
/// Runs a <see cref="TitanicPlan"/>: the broker service and the <c>titanic</c> node(s) as child processes, the
/// submission with no worker, the kills at points of progress, the in-process echo workers (which count how often
/// each request ran), the collection and close of every reply, and the checks.
/// </summary>
internal sealed class TitanicRun : IAsyncDisposable
{
    private const string BrokerName = "broker";
    private const string Service = "echo";
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(2);

    private readonly Scenario _scenario;
    private readonly TitanicPlan _plan;
    private readonly ChaosPrograms _programs;
    private readonly TextWriter? _log;
    private readonly ProcessSupervisor _supervisor;
    private readonly ScenarioClock _clock = new();
    private readonly List<string> _notes = [];
    private readonly List<FaultWindow> _windows = [];
    private readonly ConcurrentQueue<double> _progress = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _executions = new(StringComparer.Ordinal);
    private readonly string _directory = Directory.CreateTempSubdirectory("chaos-titanic-").FullName;
    private readonly int _port = FreePorts.PickOne();
    private readonly string _runId;
    private PostgresCluster? _postgres;
    private string _store = string.Empty;
    private long _executionCount;
    private long _replaced;
    private Message?[] _firstReplies = [];
    private Submission?[] _submissions = [];

    private TitanicRun(Scenario scenario, ChaosPrograms programs, string? logDirectory, TextWriter? log)
    {
        _scenario = scenario;
        _plan = scenario.Titanic!;
        _programs = programs;
        _log = log;
        _supervisor = new ProcessSupervisor(logDirectory);
        _runId = scenario.Name + "-" + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
    }

    private string Endpoint => $"tcp://127.0.0.1:{_port}";

    private string VictimName => _plan.Victim == TitanicVictim.Broker ? BrokerName : NodeName(1);

    /// <summary>Runs the scenario; a failure of the system under test is recorded in the result, never thrown.</summary>
    public static async Task<ScenarioResult> RunAsync(Scenario scenario, ChaosPrograms programs, string? logDirectory, TextWriter? log, CancellationToken cancellationToken)
    {
        scenario.Titanic!.Validate();
        var started = TimeProvider.System.GetTimestamp();
        await using var run = new TitanicRun(scenario, programs, logDirectory, log);
        try
        {
            await run.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new ScenarioResult { Name = scenario.Name, Description = scenario.Description, Error = $"start-up failed: {ex.Message}", Duration = TimeProvider.System.GetElapsedTime(started), LogDirectory = logDirectory };
        }

        var records = await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        return await run.FinishAsync(records, started, logDirectory).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _supervisor.DisposeAsync().ConfigureAwait(false);
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }

        Directory.Delete(_directory, recursive: true);
    }

    private static string NodeName(int number) => "titanic-" + number.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private void Note(string text)
    {
        string line = $"{_clock.NowMs / 1000:F2} s: {text}";
        lock (_notes)
        {
            _notes.Add(line);
        }

        _log?.WriteLine($"chaos: {_scenario.Name}: {line}");
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_plan.Store == TitanicStoreKind.Postgres)
        {
            _postgres = await PostgresCluster.StartAsync().ConfigureAwait(false);
            _store = "postgres:" + _postgres.ConnectionString();
        }
        else
        {
            _store = "sqlite:" + Path.Combine(_directory, "titanic.db");
        }

        await StartBrokerAsync(cancellationToken).ConfigureAwait(false);

        // One node after the other: the first creates the tables, so the others never race it.
        for (int node = 1; node <= _plan.Nodes; node++)
        {
            var child = _supervisor.Start(NodeName(node), TitanicCommand());
            await WaitUntilTitanicServesAsync(child, cancellationToken).ConfigureAwait(false);
        }
    }

    private ProgramCommand TitanicCommand() => new(_programs.Dotnet, [
        _programs.TitanicDll, "--endpoint", Endpoint, "--store", _store, "--dispatch-timeout", Seconds(_plan.DispatchTimeout),
        "--max-requests", (_plan.Requests * 2).ToString(CultureInfo.InvariantCulture), "--log-level", "Information"]);

    private async Task StartBrokerAsync(CancellationToken cancellationToken)
    {
        // Titanic's workers heartbeat at the Majordomo default (2.5 s), so the broker does too.
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bind"] = Endpoint,
            ["port"] = _port.ToString(CultureInfo.InvariantCulture),
            ["heartbeat_ms"] = "2500",
            ["liveness"] = "3",
            ["broker_options"] = string.Empty,
        };
        var command = _programs.Command(ProgramRole.MdpBroker, values);

        // A port just freed by a killed broker can refuse a bind for a moment: the new broker exits, start another.
        for (int attempt = 1; attempt <= 5; attempt++)
        {
            var broker = _supervisor.Start(BrokerName, command);
            var time = TimeProvider.System;
            long start = time.GetTimestamp();
            while (!broker.HasExited && time.GetElapsedTime(start) < StartLimit)
            {
                if (await FreePorts.IsListeningAsync(_port, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false) && !broker.HasExited)
                {
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken).ConfigureAwait(false);
            }

            if (!broker.HasExited)
            {
                throw new TimeoutException($"the broker did not listen on {Endpoint} within {StartLimit.TotalSeconds:F0} s:\n{broker.OutputTail()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), time, cancellationToken).ConfigureAwait(false);
        }

        throw new InvalidOperationException($"the broker exited on 5 starts in a row:\n{_supervisor.Current(BrokerName)!.OutputTail()}");
    }

    private async Task WaitUntilTitanicServesAsync(ChildProcess node, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        long start = time.GetTimestamp();

        // Bounded by the start limit; each probe waits at most 250 ms.
        while (time.GetElapsedTime(start) < StartLimit)
        {
            if (node.HasExited)
            {
                throw new InvalidOperationException($"{node.Name} exited with code {node.ExitCode}:\n{node.OutputTail()}");
            }

            await using var mmi = new MajordomoChaosClient([Endpoint], TimeSpan.FromMilliseconds(250), 1, Mdp.Protocol.MdpVersion.V01, TimeSpan.Zero);
            try
            {
                if (await mmi.QueryServiceAsync(Tsp.RequestService, cancellationToken).ConfigureAwait(false) == "200")
                {
                    return;
                }
            }
            catch (MdpRequestFailedException)
            {
                // Not yet.
            }
        }

        throw new TimeoutException($"{node.Name} did not register {Tsp.RequestService} within {StartLimit.TotalSeconds:F0} s:\n{node.OutputTail()}");
    }

    /// <summary>Kills the victim at each threshold of <paramref name="done"/> (acknowledgements or executions), then restarts it.</summary>
    private async Task KillAtAsync(string phase, int kills, Func<long> done, bool restart, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        long start = time.GetTimestamp();
        for (int k = 1; k <= kills; k++)
        {
            long threshold = (long)_plan.Requests * k / (kills + 1);

            // Bounded by the phase limit.
            while (done() < threshold && time.GetElapsedTime(start) < _plan.PhaseLimit)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(5), time, cancellationToken).ConfigureAwait(false);
            }

            var victim = _supervisor.Current(VictimName)!;
            double startMs = _clock.NowMs;
            string name = $"SIGKILL {VictimName} during {phase} (after {done()} of {_plan.Requests})";
            Note(name);
            string? error = null;
            try
            {
                victim.Kill();
                await victim.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
                if (restart)
                {
                    await Task.Delay(_plan.RestartDelay, time, cancellationToken).ConfigureAwait(false);
                    if (_plan.Victim == TitanicVictim.Broker)
                    {
                        await StartBrokerAsync(cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        _supervisor.Start(VictimName, TitanicCommand());
                    }

                    Note($"restarted {VictimName}");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                error = $"{ex.GetType().Name}: {ex.Message}";
                Note($"'{name}' failed: {error}");
            }

            lock (_windows)
            {
                _windows.Add(new FaultWindow(restart ? name + $" → restart {VictimName}" : name, startMs, _clock.NowMs, _plan.Requests - done(), null, null, error));
            }
        }
    }

    private async Task<IReadOnlyList<RequestRecord>> ExecuteAsync(CancellationToken cancellationToken)
    {
        await using var mdp = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = Endpoint, Timeout = ClientTimeout, MaxConnections = _plan.Window + 8 });
        var titanic = new TitanicClient(mdp, new TitanicClientOptions { PollInterval = TimeSpan.FromMilliseconds(50), PollIntervalMax = TimeSpan.FromMilliseconds(500) });
        var submissions = new Submission?[_plan.Requests];
        long acknowledged = 0;
        long resubmissions = 0;

        // Phase 1: every request handed over while no echo worker exists anywhere.
        Note($"submitting {_plan.Requests} requests, no worker running");
        double submitStart = _clock.NowMs;
        using (var phase = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            phase.CancelAfter(_plan.PhaseLimit);
            var killer = KillAtAsync("submission", _plan.KillsDuringSubmission, () => Interlocked.Read(ref acknowledged), restart: true, cancellationToken);
            long next = -1;
            await Task.WhenAll(Enumerable.Range(0, _plan.Window).Select(_ => Task.Run(
                async () =>
                {
                    try
                    {
                        // Bounded by the request count and the phase limit.
                        for (long i = Interlocked.Increment(ref next); i < _plan.Requests; i = Interlocked.Increment(ref next))
                        {
                            submissions[i] = await SubmitAsync(titanic, i, () => Interlocked.Increment(ref resubmissions), phase.Token).ConfigureAwait(false);
                            Interlocked.Increment(ref acknowledged);
                            _progress.Enqueue(_clock.NowMs);
                        }
                    }
                    catch (OperationCanceledException) when (phase.IsCancellationRequested)
                    {
                        // The phase limit: what is not acknowledged by now counts as lost.
                    }
                },
                CancellationToken.None))).ConfigureAwait(false);
            await killer.ConfigureAwait(false);
        }

        double submitted = _clock.NowMs;
        Note(string.Create(CultureInfo.InvariantCulture, $"{acknowledged} of {_plan.Requests} acknowledged in {(submitted - submitStart) / 1000:F2} s ({acknowledged / Math.Max((submitted - submitStart) / 1000, 1e-3):F0} req/s), {resubmissions} resubmissions; executions so far: {Interlocked.Read(ref _executionCount)}"));

        // Phase 2: the workers come; the stored requests reach them; every reply is collected.
        using var stopWorkers = new CancellationTokenSource();
        var workers = Enumerable.Range(0, _plan.Workers).Select(_ => new MajordomoWorker(new WorkerOptions { BrokerEndpoint = Endpoint, Service = Service })).ToList();
        var workerRuns = workers.Select(w => w.RunAsync(ExecuteRequestAsync, stopWorkers.Token)).ToList();
        Note($"{_plan.Workers} echo workers started");
        var firstReplies = new Message?[_plan.Requests];
        var records = new RequestRecord?[_plan.Requests];
        using (var phase = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            phase.CancelAfter(_plan.PhaseLimit);
            var killer = KillAtAsync("dispatch", _plan.KillsDuringDispatch, () => Interlocked.Read(ref _executionCount), _plan.RestartAfterDispatchKill, cancellationToken);
            await ForEachLaneAsync(async (i, lane) =>
            {
                if (submissions[i] is not { } s)
                {
                    records[i] = new RequestRecord($"{_runId}/{i}", lane, i, submitStart, submitted, RequestOutcome.Failed, "never acknowledged");
                    return;
                }

                (firstReplies[i], records[i]) = await CollectAsync(titanic, s, lane, i, phase.Token).ConfigureAwait(false);
            }).ConfigureAwait(false);
            await killer.ConfigureAwait(false);
        }

        double collected = _clock.NowMs;
        Note(string.Create(CultureInfo.InvariantCulture, $"replies collected {(collected - submitted) / 1000:F2} s after the workers started"));

        // Phase 3: with the workers still running for one more dispatch timeout (a late or repeated run would
        // finish meanwhile), every reply is read again, must be the very run that was read first, and is closed.
        await Task.Delay(_plan.DispatchTimeout + TimeSpan.FromSeconds(1), TimeProvider.System, cancellationToken).ConfigureAwait(false);
        long replaced = 0;
        using (var phase = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            phase.CancelAfter(_plan.PhaseLimit);
            await ForEachLaneAsync(async (i, _) =>
            {
                if (records[i] is { Outcome: RequestOutcome.Answered } record && firstReplies[i] is { } first)
                {
                    records[i] = await RereadAndCloseAsync(titanic, submissions[i]!, record, first, () => Interlocked.Increment(ref replaced), phase.Token).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }

        Note(string.Create(CultureInfo.InvariantCulture, $"replies read again and closed in {(_clock.NowMs - collected) / 1000:F2} s"));
        await stopWorkers.CancelAsync().ConfigureAwait(false);
        foreach (var (worker, run) in workers.Zip(workerRuns))
        {
            await run.ConfigureAwait(false);
            await worker.DisposeAsync().ConfigureAwait(false);
        }

        _replaced = Interlocked.Read(ref replaced);
        _firstReplies = firstReplies;
        _submissions = submissions;
        return [.. records.OfType<RequestRecord>()];
    }

    /// <summary>Runs <paramref name="body"/> for every request index, <see cref="TitanicPlan.Window"/> at once.</summary>
    private async Task ForEachLaneAsync(Func<int, int, Task> body)
    {
        long next = -1;
        await Task.WhenAll(Enumerable.Range(0, _plan.Window).Select(lane => Task.Run(
            async () =>
            {
                // Bounded by the request count.
                for (long i = Interlocked.Increment(ref next); i < _plan.Requests; i = Interlocked.Increment(ref next))
                {
                    await body((int)i, lane).ConfigureAwait(false);
                }
            },
            CancellationToken.None))).ConfigureAwait(false);
    }

    private async Task<Submission> SubmitAsync(TitanicClient titanic, long index, Action onResubmitted, CancellationToken phase)
    {
        double first = _clock.NowMs;

        // Every attempt has its own body: a submission whose acknowledgement was lost may still be stored, and its
        // run must not be mistaken for a second run of the one that was acknowledged. Bounded by the phase limit.
        for (int attempt = 1; ; attempt++)
        {
            string body = string.Create(CultureInfo.InvariantCulture, $"{_runId}/{index}/{attempt}");
            try
            {
                string id = await titanic.SubmitAsync(Service, Message.FromStrings(body), phase).ConfigureAwait(false);
                return new Submission(body, id, first, _clock.NowMs);
            }
            catch (Exception ex) when (ex is MdpRequestFailedException || (ex is TitanicException t && t.IsTransient))
            {
                onResubmitted();
                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, phase).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<Message> ExecuteRequestAsync(MdpRequest request, CancellationToken cancellationToken)
    {
        _executions.GetOrAdd(request.Body.GetString(0), _ => new ConcurrentQueue<double>()).Enqueue(_clock.NowMs);
        long run = Interlocked.Increment(ref _executionCount);

        // A millisecond of work, so the dispatch of a few thousand requests spans the kill.
        await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System, cancellationToken).ConfigureAwait(false);

        // The echo plus the number of this run: a stored reply replaced by a later run's would show.
        return Message.FromStrings(request.Body.GetString(0), run.ToString(CultureInfo.InvariantCulture));
    }

    private async Task<(Message? Reply, RequestRecord Record)> CollectAsync(TitanicClient titanic, Submission s, int lane, int sequence, CancellationToken phase)
    {
        try
        {
            var reply = await titanic.WaitForReplyAsync(s.Id, phase).ConfigureAwait(false);
            double seen = _clock.NowMs;
            _progress.Enqueue(seen);
            return reply.Count != 2 || reply.GetString(0) != s.Body
                ? (null, new RequestRecord(s.Body, lane, sequence, s.StartMs, seen, RequestOutcome.WrongReply, $"got {reply}"))
                : (reply, new RequestRecord(s.Body, lane, sequence, s.StartMs, seen, RequestOutcome.Answered));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TitanicException or MdpRequestFailedException)
        {
            return (null, new RequestRecord(s.Body, lane, sequence, s.StartMs, _clock.NowMs, RequestOutcome.Lost, $"{ex.GetType().Name}: {ex.Message}"));
        }
    }

    private static async Task<RequestRecord> RereadAndCloseAsync(TitanicClient titanic, Submission s, RequestRecord record, Message first, Action onReplaced, CancellationToken phase)
    {
        try
        {
            var again = await RetryAsync(() => titanic.TryGetReplyAsync(s.Id, phase)).ConfigureAwait(false);
            if (again is null || again.Count != 2 || again.GetString(0) != first.GetString(0) || again.GetString(1) != first.GetString(1))
            {
                onReplaced();
                return record with { Outcome = RequestOutcome.WrongReply, Detail = $"first read run {first.GetString(1)}, second read got {again?.ToString() ?? "pending"}" };
            }

            await RetryAsync(async () =>
            {
                await titanic.CloseAsync(s.Id, phase).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
            return record;
        }
        catch (Exception ex) when (ex is OperationCanceledException or TitanicException or MdpRequestFailedException)
        {
            return record with { Outcome = RequestOutcome.Lost, Detail = $"second read or close: {ex.GetType().Name}: {ex.Message}" };
        }

        async Task<T> RetryAsync<T>(Func<Task<T>> call)
        {
            // A broker or Titanic restart may swallow one call: ask again, boundedly, until the phase ends.
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    return await call().ConfigureAwait(false);
                }
                catch (Exception ex) when (attempt < 30 && (ex is MdpRequestFailedException || (ex is TitanicException t && t.IsTransient)))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, phase).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task<ScenarioResult> FinishAsync(IReadOnlyList<RequestRecord> records, long started, string? logDirectory)
    {
        var unexpected = _supervisor.AllChildren
            .Where(c => c.HasExited && !c.ExitRequested)
            .Select(c => $"{c.Name} (pid {c.Pid}) exited with code {c.ExitCode}")
            .ToList();
        var forced = await _supervisor.StopAllAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        foreach (var child in forced)
        {
            Note($"{child.Name} (pid {child.Pid}) did not exit within 2 s of SIGTERM and was killed");
        }

        var leaks = _supervisor.FindLeakedProcesses();
        var acknowledged = _submissions.OfType<Submission>().ToList();
        int runs = acknowledged.Sum(s => _executions.TryGetValue(s.Body, out var times) ? times.Count : 0);
        int reruns = acknowledged.Sum(s => _executions.TryGetValue(s.Body, out var times) ? times.Count - 1 : 0);
        int neverRan = acknowledged.Count(s => !_executions.ContainsKey(s.Body));
        var acknowledgedBodies = acknowledged.Select(s => s.Body).ToHashSet(StringComparer.Ordinal);
        int sharedIds = acknowledged.Count - acknowledged.Select(s => s.Id).Distinct(StringComparer.Ordinal).Count();
        int orphans = _executions.Keys.Count(k => !acknowledgedBodies.Contains(k));
        Note(string.Create(CultureInfo.InvariantCulture, $"{acknowledged.Count} acknowledged requests ran {runs} times ({reruns} re-runs after a kill, {neverRan} never); {orphans} unacknowledged submissions ran too; {_replaced} stored replies replaced"));

        var wrong = records.Count(r => r.Outcome == RequestOutcome.WrongReply);
        var lost = records.Where(r => r.Outcome is RequestOutcome.Lost or RequestOutcome.Failed).ToList();
        var progress = _progress.Order().ToArray();
        var windows = _windows.Select(w =>
        {
            double next = progress.FirstOrDefault(t => t > w.EndMs, double.NaN);
            return w with { RecoveryMs = double.IsNaN(next) ? null : next - w.EndMs };
        }).ToList();
        var invariants = new List<InvariantResult>
        {
            new("every acknowledged request got exactly its reply", wrong == 0 && lost.Count == 0 && records.Count == _plan.Requests,
                $"{records.Count - wrong - lost.Count} of {_plan.Requests} answered with their own echo and closed; {lost.Count} lost, {wrong} wrong{(lost.Count > 0 ? $"; first lost: {lost[0].Id}: {lost[0].Detail}" : string.Empty)}"),
            new("no duplicate of a stored reply", _replaced == 0 && sharedIds == 0,
                $"{_replaced} replies that changed between the first read and a second one a dispatch timeout later (each reply names the run that made it), {sharedIds} ids given twice, {reruns} runs again after a kill"),
            new("every kill injected", windows.All(w => w.Error is null), string.Join("; ", windows.Where(w => w.Error is not null).Select(w => w.Error)) is { Length: > 0 } e ? e : $"{windows.Count} kills"),
            new("no process exited on its own", unexpected.Count == 0, unexpected.Count == 0 ? "every exit was a kill the scenario made" : string.Join("; ", unexpected)),
            new("no process leaks", leaks.Count == 0, leaks.Count == 0 ? "every child reaped" : "still present: pid " + string.Join(", ", leaks)),
        };
        var result = new ScenarioResult
        {
            Name = _scenario.Name,
            Description = _scenario.Description,
            Deployment = $"broker: `{_supervisor.Current(BrokerName)!.Command}`\n\n{_plan.Nodes} titanic node(s): `{TitanicCommand().ToString().Replace(_store, StoreLabel(), StringComparison.Ordinal)}`\n\n{_plan.Workers} in-process echo workers, started after the submission",
            Client = $"TitanicClient over MajordomoAsyncClient (timeout {ClientTimeout.TotalMilliseconds:F0} ms), {_plan.Window} requests in hand",
            Requests = records,
            Faults = windows,
            Invariants = invariants,
            Notes = [.. _notes],
            Retries = 0,
            Duration = TimeProvider.System.GetElapsedTime(started),
            LogDirectory = logDirectory,
            Seed = _scenario.Seed,
        };
        _log?.WriteLine($"chaos: {_scenario.Name}: {(result.Passed ? "passed" : "FAILED")} ({result.Answered}/{result.RequestCount} answered, {lost.Count} lost, {wrong} wrong, {_replaced} duplicates of a stored reply, {result.Duration.TotalSeconds:F1} s)");
        return result;
    }

    private string StoreLabel() => _plan.Store == TitanicStoreKind.Postgres ? "postgres:(throwaway cluster)" : "sqlite:(temporary file)";

    private sealed record Submission(string Body, string Id, double StartMs, double AcknowledgedMs);
}
