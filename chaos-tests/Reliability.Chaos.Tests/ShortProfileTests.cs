using System.Text.RegularExpressions;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Scenarios;
using Xunit.Abstractions;

namespace Reliability.Chaos.Tests;

/// <summary>
/// The short profile (what CI runs): every built-in scenario against this repository's broker
/// service, queue, workers and clients, as real processes. One test per scenario, each running
/// the kit's command line (<c>run --profile short --scenario NAME</c>) as a child process: the
/// kit's clients and fault proxies then live in a process of their own, like in a real run,
/// instead of sharing the test host (whose scheduling hiccups of half a second or more would
/// stall every proxied connection at once and make the peers expire each other). Reports go to
/// <c>reports/chaos-xunit/NAME</c>.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed partial class ShortProfileTests(ITestOutputHelper output)
{
    public static TheoryData<string> Scenarios => new(ScenarioCatalog.Names(Profile.Short));

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Run_ShortProfileScenario_EveryInvariantHolds(string name)
    {
        var programs = await ChaosPrograms.PrepareAsync().WaitAsync(TimeSpan.FromMinutes(10));
        string kit = Path.Combine(AppContext.BaseDirectory, "Reliability.Chaos.dll");
        string report = Path.Combine(ChaosPrograms.FindRepositoryRoot() ?? Path.GetTempPath(), "reports", "chaos-xunit", name);
        await using var supervisor = new ProcessSupervisor();

        var run = supervisor.Start("chaos", new ProgramCommand(programs.Dotnet, [kit, "run", "--profile", "short", "--scenario", name, "--report", report]));
        bool exited = await run.WaitForExitAsync(TimeSpan.FromMinutes(3));
        await run.OutputClosed.WaitAsync(TimeSpan.FromSeconds(15));

        var lines = run.GetOutput();
        foreach (string line in lines)
        {
            output.WriteLine(line);
        }

        exited.Should().BeTrue("a scenario ends within its hard limits");
        await run.WaitForOutputAsync(SummaryLine(), TimeSpan.FromSeconds(10));
        run.ExitCode.Should().Be(0, $"every invariant must hold; report {report}/report.md:\n{string.Join('\n', lines.TakeLast(8))}");
        lines.Last(l => l.Length > 0).Should().MatchRegex(@"^chaos: 1 scenarios, (\d+) requests, \1 answered, 0 failed, 0 wrong replies$");
    }

    [GeneratedRegex(@"^chaos: \d+ scenarios, \d+ requests, \d+ answered, \d+ failed, \d+ wrong replies$")]
    private static partial Regex SummaryLine();
}
