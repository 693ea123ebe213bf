using System.Collections.Concurrent;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Reporting;
using Reliability.Chaos.Scenarios;
using Xunit.Abstractions;

namespace Reliability.Chaos.Tests;

/// <summary>
/// The short profile (what CI runs): every built-in scenario against this repository's broker
/// service, queue, workers and clients, as real processes. One test per scenario; the combined
/// report is rewritten after each one into <c>reports/chaos-xunit</c>.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class ShortProfileTests(ITestOutputHelper output)
{
    private static readonly ConcurrentDictionary<string, ScenarioResult> Results = new(StringComparer.Ordinal);
    private static readonly object ReportGate = new();

    public static TheoryData<string> Scenarios => new(ScenarioCatalog.Names(Profile.Short));

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task RunAsync_ShortProfileScenario_EveryInvariantHolds(string name)
    {
        var programs = await ChaosPrograms.PrepareAsync().WaitAsync(TimeSpan.FromMinutes(10));
        var scenario = ScenarioCatalog.For(Profile.Short).Single(s => s.Name == name);
        string reportDirectory = Path.Combine(ChaosPrograms.FindRepositoryRoot() ?? Path.GetTempPath(), "reports", "chaos-xunit");
        var log = new StringWriter();
        var runner = new ScenarioRunner(programs, Path.Combine(reportDirectory, "logs"), log);

        var result = await runner.RunAsync(scenario).WaitAsync(TimeSpan.FromMinutes(3));

        Results[name] = result;
        lock (ReportGate)
        {
            ChaosReport.Write(reportDirectory, "short profile under xunit", [.. ScenarioCatalog.Names(Profile.Short).Where(Results.ContainsKey).Select(n => Results[n])]);
        }

        output.WriteLine(log.ToString());
        output.WriteLine(ChaosReport.SummaryTable([result]));
        foreach (var fault in result.Faults)
        {
            output.WriteLine($"{fault.Name}: recovery {fault.RecoveryMs:F0} ms, stall {fault.StalledMs:F0} ms, worst in-flight {fault.WorstInFlightMs:F0} ms, serving again {fault.ReRegistrationMs:F0} ms {fault.Error}");
        }

        result.Passed.Should().BeTrue(result.Error ?? string.Join("; ", result.Invariants.Where(i => !i.Held).Select(i => $"{i.Name}: {i.Detail}")) + $" (process output: {result.LogDirectory})");
        result.Answered.Should().Be(scenario.Workload.TotalRequests);
    }
}
