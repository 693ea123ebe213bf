using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Reporting;
using Reliability.Chaos.Scenarios;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Cli;

/// <summary>
/// The demonstration: a Majordomo broker (the broker service), four echo workers and six clients on
/// loopback, with a live progress display, while a worker is killed, the broker is killed and
/// restarted, and the network between broker and workers is partitioned. Ends with the summary table.
/// </summary>
public static class Demo
{
    /// <summary>Requests the demo sends when not told otherwise.</summary>
    public const int DefaultRequests = 600;

    /// <summary>The demo's scenario.</summary>
    /// <param name="requests">Total requests (spread over six clients).</param>
    /// <returns>The scenario.</returns>
    public static Scenario CreateScenario(int requests = DefaultRequests)
    {
        const int Clients = 6;
        int perClient = Math.Max(1, requests / Clients);
        // Workers take 60 ms per request: about half of them are busy at any moment, so the killed one is likely holding a request.
        var deployment = new DeploymentOptions { Topology = Topology.Majordomo, Workers = 4, WorkerSlowness = TimeSpan.FromMilliseconds(60) };
        var workload = new WorkloadOptions
        {
            Clients = Clients,
            RequestsPerClient = perClient,

            // About 18 s of load, whatever the request count, so the faults land while it runs.
            Pacing = TimeSpan.FromMilliseconds(Math.Clamp(18_000.0 / perClient, 5, 1000)),
            RequestTimeout = TimeSpan.FromMilliseconds(1000),
            Attempts = 10,
        };
        var reconnect = ScenarioCatalog.RecoveryBound(deployment, workload, workersReconnect: true);
        return new Scenario
        {
            Name = "demo",
            Description = "Majordomo broker service, 4 echo workers, 6 clients; a worker is SIGKILLed (and restarted 2 s later), the broker is SIGKILLed and restarted on the same port, and the broker↔workers network is black-holed for 2 s. Every request must be answered with its own reply.",
            Deployment = deployment,
            Workload = workload,
            Faults =
            [
                Faults.KillWorker(TimeSpan.FromSeconds(3), 1, TimeSpan.FromSeconds(2)) with { RecoveryBound = reconnect },
                Faults.KillBroker(TimeSpan.FromSeconds(7), TimeSpan.FromMilliseconds(500)) with { RecoveryBound = reconnect },
                Faults.PartitionWorkers(TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(2)) with { RecoveryBound = reconnect },
            ],
        };
    }

    /// <summary>Runs the demo.</summary>
    /// <param name="programs">The programs.</param>
    /// <param name="requests">Total requests.</param>
    /// <param name="reportDirectory">Where the report goes.</param>
    /// <param name="output">The console.</param>
    /// <param name="cancellationToken">Ctrl-C.</param>
    /// <returns>0 when every request was answered with its own reply and every invariant held.</returns>
    public static async Task<int> RunAsync(ChaosPrograms programs, int requests, string reportDirectory, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var scenario = CreateScenario(requests);
        var events = new QueueWriter();
        var progress = new WorkloadProgress();
        var runner = new ScenarioRunner(programs, Path.Combine(reportDirectory, "logs"), events);
        output.WriteLine($"demo: Majordomo broker, {scenario.Deployment.Workers} workers, {scenario.Workload.Clients} clients, {scenario.Workload.TotalRequests} requests on 127.0.0.1");
        output.WriteLine("demo: faults: SIGKILL a worker at 3 s, SIGKILL + restart the broker at 7 s, partition broker↔workers at 12 s for 2 s");
        var run = runner.RunAsync(scenario, progress, cancellationToken);
        bool interactive = !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out);
        string status = string.Empty;
        double lastPrinted = double.MinValue;

        // Bounded by the run: the scenario ends after its workload's hard limits.
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, CancellationToken.None)).ConfigureAwait(false);
            while (events.Lines.TryDequeue(out string? line))
            {
                if (interactive)
                {
                    output.Write("\r" + new string(' ', status.Length) + "\r");
                }

                output.WriteLine(line.StartsWith("chaos: demo: ", StringComparison.Ordinal) ? "  ▶ " + line["chaos: demo: ".Length..] : "  " + line);
            }

            if (progress.Clock is not { } clock)
            {
                continue;
            }

            double seconds = clock.NowMs / 1000;
            status = Status(progress, seconds);
            if (interactive)
            {
                output.Write("\r" + status);
            }
            else if (seconds - lastPrinted >= 1)
            {
                output.WriteLine(status);
                lastPrinted = seconds;
            }
        }

        if (interactive)
        {
            output.WriteLine();
        }

        var result = await run.ConfigureAwait(false);
        while (events.Lines.TryDequeue(out string? line))
        {
            output.WriteLine("  " + line);
        }

        string report = ChaosReport.Write(reportDirectory, "demo", [result]);
        output.WriteLine();
        output.Write(ChaosReport.SummaryTable([result]));
        output.WriteLine();
        foreach (var fault in result.Faults)
        {
            output.WriteLine($"  {fault.Name,-48} recovered in {(fault.RecoveryMs is { } ms ? ms.ToString("F0", CultureInfo.InvariantCulture) + " ms" : "-")}");
        }

        foreach (var invariant in result.Invariants)
        {
            output.WriteLine($"  {(invariant.Held ? "ok  " : "FAIL")} {invariant.Name}: {invariant.Detail}");
        }

        output.WriteLine($"report: {report}");
        output.WriteLine(result.Passed
            ? $"demo: every one of {result.RequestCount} requests answered with its own reply, through a worker crash, a broker restart and a partition"
            : $"demo: FAILED: {result.Error ?? string.Join("; ", result.Invariants.Where(i => !i.Held).Select(i => i.Name))}");
        output.WriteLine(ChaosReport.SummaryLine([result]));
        return result.Passed ? 0 : 1;
    }

    private static string Status(WorkloadProgress progress, double seconds)
    {
        const int BarWidth = 30;
        long total = Math.Max(1, progress.Total);
        long done = progress.Answered + progress.Failed + progress.WrongReplies + progress.Lost;
        int filled = (int)(BarWidth * done / total);
        var bar = new StringBuilder(BarWidth + 2).Append('[').Append('#', filled).Append('.', BarWidth - filled).Append(']');
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{seconds,5:F1} s {bar} {done}/{progress.Total} done, {progress.Answered} answered, {progress.InFlight} in flight, {progress.Failed + progress.Lost} failed, {progress.WrongReplies} wrong");
    }

    /// <summary>Collects the runner's event lines for the display loop.</summary>
    private sealed class QueueWriter : TextWriter
    {
        private readonly StringBuilder _line = new();

        public ConcurrentQueue<string> Lines { get; } = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_line)
            {
                if (value == '\n')
                {
                    Lines.Enqueue(_line.ToString());
                    _line.Clear();
                }
                else if (value != '\r')
                {
                    _line.Append(value);
                }
            }
        }
    }
}
