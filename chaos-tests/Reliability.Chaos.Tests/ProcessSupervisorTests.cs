using System.Diagnostics;
using System.Text.RegularExpressions;
using Reliability.Chaos.Processes;

namespace Reliability.Chaos.Tests;

public sealed class ProcessSupervisorTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    // A child that prints a line then ticks, bounded to one minute so it can never run away.
    // One process (no shell children that could outlive it and show up as leaks).
    private static ProgramCommand Ticker(string first = "started") =>
        new("/usr/bin/python3", ["-u", "-c", $"import time\nprint('{first}')\nfor i in range(600):\n    print('tick', i)\n    time.sleep(0.1)"]);

    [Fact]
    public async Task Start_ChildPrints_WaitForOutputReturnsTheLine()
    {
        await using var supervisor = new ProcessSupervisor();
        var child = supervisor.Start("ticker", Ticker("hello-chaos"));

        string line = await child.WaitForOutputAsync(new Regex("hello-chaos"), Wait);

        line.Should().Be("hello-chaos");
        child.Pid.Should().BePositive();
        child.HasExited.Should().BeFalse();
    }

    [Fact]
    public async Task Kill_RunningChild_ExitsWithSigkillCodeAndIsMarkedRequested()
    {
        await using var supervisor = new ProcessSupervisor();
        var child = supervisor.Start("ticker", Ticker());
        await child.WaitForOutputAsync(new Regex("started"), Wait);

        child.Kill();

        (await child.WaitForExitAsync(Wait)).Should().BeTrue();
        child.ExitCode.Should().Be(128 + 9);
        child.ExitRequested.Should().BeTrue();
    }

    [Fact]
    public async Task IsStillOurs_RunningThenKilled_TrueThenFalseAndSignalsAreNotSent()
    {
        await using var supervisor = new ProcessSupervisor();
        var child = supervisor.Start("ticker", Ticker());
        await child.WaitForOutputAsync(new Regex("started"), Wait);
        child.IsStillOurs().Should().BeTrue();

        child.Kill();
        (await child.WaitForExitAsync(Wait)).Should().BeTrue();

        child.IsStillOurs().Should().BeFalse();
        child.Signal(ChildSignal.Kill).Should().BeFalse();
    }

    [Fact]
    public async Task Terminate_RunningChild_Exits()
    {
        await using var supervisor = new ProcessSupervisor();
        var child = supervisor.Start("ticker", Ticker());
        await child.WaitForOutputAsync(new Regex("started"), Wait);

        child.Terminate();

        (await child.WaitForExitAsync(Wait)).Should().BeTrue();
        child.ExitRequested.Should().BeTrue();
    }

    [Fact]
    public async Task PauseThenResume_RunningChild_IsStoppedThenRunsAgain()
    {
        await using var supervisor = new ProcessSupervisor();
        var child = supervisor.Start("ticker", Ticker());
        await child.WaitForOutputAsync(new Regex("started"), Wait);

        child.Pause();
        (await Eventually.TrueAsync(() => ProcessState(child.Pid) == 'T', Wait)).Should().BeTrue();
        child.IsPaused.Should().BeTrue();

        child.Resume();
        child.IsPaused.Should().BeFalse();
        long seen = child.LineCount;
        await child.WaitForOutputAsync(new Regex("^tick"), Wait, fromLine: seen);
    }

    [Fact]
    public async Task RestartAsync_RunningChild_StartsSameCommandUnderSameName()
    {
        await using var supervisor = new ProcessSupervisor();
        var first = supervisor.Start("ticker", Ticker());
        await first.WaitForOutputAsync(new Regex("started"), Wait);

        var second = await supervisor.RestartAsync(first);

        first.HasExited.Should().BeTrue();
        second.Pid.Should().NotBe(first.Pid);
        second.Generation.Should().Be(2);
        second.Command.Should().BeSameAs(first.Command);
        supervisor.Current("ticker").Should().BeSameAs(second);
        await second.WaitForOutputAsync(new Regex("started"), Wait);
    }

    [Fact]
    public async Task Start_NameStillRunning_Throws()
    {
        await using var supervisor = new ProcessSupervisor();
        supervisor.Start("ticker", Ticker());

        var act = () => supervisor.Start("ticker", Ticker());

        act.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public async Task WaitForOutputAsync_NoSuchLine_ThrowsTimeoutWithOutputTail()
    {
        await using var supervisor = new ProcessSupervisor();
        var child = supervisor.Start("ticker", Ticker());
        await child.WaitForOutputAsync(new Regex("started"), Wait);

        var act = () => child.WaitForOutputAsync(new Regex("never printed"), TimeSpan.FromMilliseconds(200));

        (await act.Should().ThrowAsync<TimeoutException>()).Which.Message.Should().Contain("started");
    }

    [Fact]
    public async Task WaitForOutputAsync_ChildExitsFirst_ThrowsInvalidOperation()
    {
        await using var supervisor = new ProcessSupervisor();
        var child = supervisor.Start("short", new ProgramCommand("/bin/sh", ["-c", "echo bye; exit 3"]));

        var act = () => child.WaitForOutputAsync(new Regex("never printed"), Wait);

        await act.Should().ThrowAsync<InvalidOperationException>();
        (await child.WaitForExitAsync(Wait)).Should().BeTrue();
        await child.OutputClosed.WaitAsync(Wait);
        child.ExitCode.Should().Be(3);
        child.GetOutput().Should().Equal("bye");
        child.ExitRequested.Should().BeFalse();
    }

    [Fact]
    public async Task StopAllAsync_PausedAndRunningChildren_AllExitAndNothingLeaks()
    {
        var supervisor = new ProcessSupervisor();
        var running = supervisor.Start("a", Ticker());
        var paused = supervisor.Start("b", Ticker());
        await paused.WaitForOutputAsync(new Regex("started"), Wait);
        paused.Pause();

        var forced = await supervisor.StopAllAsync(TimeSpan.FromSeconds(5));

        forced.Should().BeEmpty();
        running.HasExited.Should().BeTrue();
        paused.HasExited.Should().BeTrue();
        supervisor.FindLeakedProcesses().Should().BeEmpty();
        await supervisor.DisposeAsync();
    }

    [Fact]
    public async Task DisposeAsync_RunningChildren_KillsAndReapsThem()
    {
        var supervisor = new ProcessSupervisor();
        var children = Enumerable.Range(0, 3).Select(i => supervisor.Start($"t{i}", Ticker())).ToList();
        supervisor.FindLeakedProcesses().Should().HaveCount(3);

        await supervisor.DisposeAsync();

        children.Should().OnlyContain(c => c.HasExited);
        Directory.Exists($"/proc/{children[0].Pid}").Should().BeFalse();
    }

    [Fact]
    public async Task Start_WithLogDirectory_CopiesOutputToFile()
    {
        string directory = Path.Combine(Path.GetTempPath(), "chaos-supervisor-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var supervisor = new ProcessSupervisor(directory))
            {
                var child = supervisor.Start("logged", new ProgramCommand("/bin/sh", ["-c", "echo to-the-log"]));
                (await child.WaitForExitAsync(Wait)).Should().BeTrue();
            }

            string log = await File.ReadAllTextAsync(Path.Combine(directory, "logged.1.log"));
            log.Should().Contain("to-the-log").And.Contain("exited with code 0");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task SweepOrphans_ChildOfDeadOwner_IsKilledOthersAreNot()
    {
        // A PID that surely belongs to no living process: one we started and reaped.
        using var gone = Process.Start("/bin/true")!;
        await gone.WaitForExitAsync().WaitAsync(Wait);
        var orphanStart = new ProcessStartInfo("/bin/sh", ["-c", "sleep 60"]) { UseShellExecute = false };
        orphanStart.Environment[ProcessSupervisor.MarkerVariable] = $"{gone.Id}:1";
        using var orphan = Process.Start(orphanStart)!;
        await using var supervisor = new ProcessSupervisor();
        var ours = supervisor.Start("ours", Ticker());

        try
        {
            int killed = ProcessSupervisor.SweepOrphans();

            killed.Should().BeGreaterThanOrEqualTo(1);
            (await orphan.WaitForExitAsync(CancellationToken.None).WaitAsync(Wait).ContinueWith(t => t.IsCompletedSuccessfully)).Should().BeTrue();
            ours.HasExited.Should().BeFalse();
        }
        finally
        {
            if (!orphan.HasExited)
            {
                orphan.Kill();
            }
        }
    }

    private static char ProcessState(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }
}
