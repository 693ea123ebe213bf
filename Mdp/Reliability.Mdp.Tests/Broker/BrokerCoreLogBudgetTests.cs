using Reliability.Mdp.Protocol;
using Reliability.Testing;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>
/// What a crowd of misbehaving peers costs in DISCONNECTs and log lines (docs/security-limits.md): one
/// DISCONNECT per routing id per heartbeat interval, and a bounded number of lines per window, the rest summarised.
/// </summary>
public sealed class BrokerCoreLogBudgetTests
{
    [Fact]
    public void ForgottenWorker_KeepsHeartbeating_OneDisconnectPerHeartbeatInterval()
    {
        using var h = new CoreHarness();

        h.Heartbeat("forgotten");
        h.Heartbeat("forgotten");
        h.TakeWorkerCommands("forgotten").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);

        h.Advance(h.Options.HeartbeatInterval / 2);
        h.Heartbeat("forgotten");
        h.TakeWorkerCommands("forgotten").Should().BeEmpty("within the interval it stays silent");

        h.Advance(h.Options.HeartbeatInterval / 2);
        h.Heartbeat("forgotten");
        h.TakeWorkerCommands("forgotten").Should().ContainSingle("one interval later it hears DISCONNECT again, in case the first was lost")
            .Which.Should().Be(WorkerDisconnect.Instance);
    }

    [Fact]
    public void ThousandsOfUnknownWorkers_EachGetsItsDisconnect_ButTheLogHoldsAFewLinesAndOneSummary()
    {
        using var log = new InMemoryLog();
        using var h = new CoreHarness(logger: log.CreateLogger("Reliability.Mdp.Broker"));

        for (int i = 0; i < 5000; i++)
        {
            h.Heartbeat($"rogue-{i}");
        }

        h.Metric("disconnects.sent", "unknown_worker").Should().Be(5000);
        log.Lines.Count(l => l.Contains("from unknown worker", StringComparison.Ordinal)).Should().BeLessThanOrEqualTo(50);

        h.Advance(TimeSpan.FromSeconds(11));
        log.Lines.Should().ContainSingle(l => l.Contains("more line(s) about peers", StringComparison.Ordinal) && l.Contains("unknown_worker", StringComparison.Ordinal))
            .Which.Should().Contain("4950");
    }

    [Fact]
    public void RefusedReadyFlood_LogBounded_EveryRefusalCounted()
    {
        using var log = new InMemoryLog();
        using var h = new CoreHarness(logger: log.CreateLogger("Reliability.Mdp.Broker"));

        for (int i = 0; i < 5000; i++)
        {
            h.Ready($"w{i}", "mmi.forged");
        }

        h.Metric("disconnects.sent", "ready_refused").Should().Be(5000);
        log.Lines.Count(l => l.Contains("refused", StringComparison.Ordinal)).Should().BeLessThanOrEqualTo(50);
    }
}
