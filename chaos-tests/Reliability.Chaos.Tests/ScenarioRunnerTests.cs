using Reliability.Chaos.Network;
using Reliability.Chaos.Reporting;
using Reliability.Chaos.Scenarios;
using Reliability.Chaos.Workload;
using Reliability.Testing.PyZmq;
using Xunit.Abstractions;

namespace Reliability.Chaos.Tests;

/// <summary>The runner end to end against pyzmq Paranoid Pirate peers (independent of this repository's example programs).</summary>
[Collection(ChaosCollection.Name)]
public sealed class ScenarioRunnerTests(ITestOutputHelper output)
{
    private static readonly DeploymentOptions Ppp = new()
    {
        Topology = Topology.ParanoidPirate,
        Workers = 3,
        Heartbeat = TimeSpan.FromMilliseconds(250),
        Liveness = 3,
        WorkerSlowness = TimeSpan.FromMilliseconds(20),
        WorkerReconnectDelay = TimeSpan.FromMilliseconds(500),
    };

    private static readonly WorkloadOptions Load = new()
    {
        Clients = 3,
        RequestsPerClient = 40,
        Pacing = TimeSpan.FromMilliseconds(60),
        RequestTimeout = TimeSpan.FromMilliseconds(800),
        Attempts = 10,
    };

    [PyZmqFact]
    public async Task RunAsync_WorkerKilledAndRestarted_AllAnsweredAndInvariantsHold()
    {
        var result = await RunAsync(new Scenario
        {
            Name = "py-worker-killed",
            Description = "pyzmq queue, a worker killed and restarted",
            Deployment = Ppp,
            Workload = Load,
            Faults = [Faults.KillWorker(TimeSpan.FromMilliseconds(800), 0, TimeSpan.FromSeconds(1))],
        });

        result.Passed.Should().BeTrue(Explain(result));
        result.Answered.Should().Be(Load.TotalRequests);
        result.Faults.Should().ContainSingle().Which.RecoveryMs.Should().NotBeNull();
    }

    [PyZmqFact]
    public async Task RunAsync_QueueRestartedAndPartition_AllAnsweredWithRecoveryMeasured()
    {
        var result = await RunAsync(new Scenario
        {
            Name = "py-queue-restart-partition",
            Description = "pyzmq queue killed and restarted, then the worker link partitioned",
            Deployment = Ppp,
            Workload = Load with { RequestsPerClient = 60 },
            Faults =
            [
                Faults.KillBroker(TimeSpan.FromMilliseconds(600), TimeSpan.FromMilliseconds(300)) with { ReRegistrationBound = TimeSpan.FromSeconds(5) },
                Faults.PartitionWorkers(TimeSpan.FromMilliseconds(2000), TimeSpan.FromMilliseconds(1000)),
            ],
        });

        result.Passed.Should().BeTrue(Explain(result));
        result.Faults.Should().HaveCount(2).And.OnlyContain(f => f.RecoveryMs != null && f.Error == null);
        result.Faults[0].ReRegistrationMs.Should().NotBeNull();
        result.Retries.Should().BePositive("requests in flight at the queue's death are recovered by retries");
    }

    [PyZmqFact]
    public async Task RunAsync_TooFewAttempts_ReportsFailedRequestsAsViolation()
    {
        var result = await RunAsync(new Scenario
        {
            Name = "py-not-enough-retries",
            Description = "a partition longer than the clients' retry budget",
            Deployment = Ppp,
            Workload = Load with { Attempts = 1, RequestTimeout = TimeSpan.FromMilliseconds(300), RequestsPerClient = 30 },
            Faults = [Faults.PartitionClients(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1000))],
        });

        result.Passed.Should().BeFalse();
        result.Failed.Should().BePositive();
        result.WrongReplies.Should().Be(0);
        result.Lost.Should().Be(0, "the client library reports every request it gives up on");
        result.Invariants.Should().Contain(i => i.Name.StartsWith("every request answered", StringComparison.Ordinal) && !i.Held);
        result.Invariants.Should().Contain(i => i.Name == "no process leaks" && i.Held);
    }

    [PyZmqFact]
    public async Task RunAsync_SlowNetworkAndWorkerPaused_ReportAndChartAreWritten()
    {
        var result = await RunAsync(new Scenario
        {
            Name = "py-slow-paused",
            Description = "latency and a paused worker",
            Deployment = Ppp,
            Workload = Load,
            Faults =
            [
                Faults.SlowNetwork(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(800), new NetworkConditions { Latency = TimeSpan.FromMilliseconds(30), Jitter = TimeSpan.FromMilliseconds(10) }),
                Faults.PauseWorker(TimeSpan.FromMilliseconds(1400), 1, TimeSpan.FromMilliseconds(1000)),
            ],
        });
        string directory = Path.Combine(Path.GetTempPath(), "chaos-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            string report = ChaosReport.Write(directory, "test", [result]);

            result.Passed.Should().BeTrue(Explain(result));
            string markdown = await File.ReadAllTextAsync(report);
            markdown.Should().Contain("py-slow-paused").And.Contain("SIGSTOP worker-2").And.Contain("py-slow-paused.svg");
            string svg = await File.ReadAllTextAsync(Path.Combine(directory, "py-slow-paused.svg"));
            svg.Should().StartWith("<svg").And.Contain("fill-opacity=\"0.22\"").And.Contain("<circle");
            ChaosReport.SummaryLine([result]).Should().Be($"chaos: 1 scenarios, {Load.TotalRequests} requests, {result.Answered} answered, 0 failed, 0 wrong replies");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Explain(ScenarioResult result) =>
        result.Error ?? string.Join("; ", result.Invariants.Where(i => !i.Held).Select(i => $"{i.Name}: {i.Detail}"));

    private async Task<ScenarioResult> RunAsync(Scenario scenario)
    {
        PyZmqEnvironment.EnsureAvailable();
        var log = new StringWriter();
        var runner = new ScenarioRunner(PyZmqPeers.Programs(), Path.Combine(Path.GetTempPath(), "chaos-test-logs"), log);
        var result = await runner.RunAsync(scenario).WaitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine(log.ToString());
        output.WriteLine(ChaosReport.SummaryTable([result]));
        return result;
    }
}
