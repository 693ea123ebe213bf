using Reliability.Patterns.Queueing;
using System.Text;
using Reliability.Mdp.Broker;
using Reliability.Patterns;

namespace Reliability.Mdp.Tests.Broker;

/// <summary><see cref="BrokerOptions.OnWorkerExpired"/>: called for every worker removed without its own DISCONNECT, never for one that said goodbye.</summary>
public sealed class BrokerCoreCallbackTests
{
    private readonly List<(string Worker, string? Service, string Reason)> _expired = [];

    private BrokerOptions Options(Action<WorkerExpiredArguments>? callback = null) => new()
    {
        HeartbeatInterval = TimeSpan.FromSeconds(1),
        Liveness = 3,
        RequestExpiry = TimeSpan.FromSeconds(10),
        OnWorkerExpired = callback ?? (e => _expired.Add((Encoding.UTF8.GetString(e.WorkerId.Span), e.Service, e.Reason))),
    };

    [Fact]
    public void OnTimer_SilentWorker_ReportedAsExpiredWithItsService()
    {
        using var h = new CoreHarness(Options());
        h.Ready("w1", "echo");

        for (int i = 0; i < 4; i++)
        {
            h.Advance(TimeSpan.FromSeconds(1));
        }

        _expired.Should().Equal(("w1", "echo", "expired"));
    }

    [Fact]
    public void OnPeerDisconnected_Worker_ReportedAsConnectionLost()
    {
        using var h = new CoreHarness(Options());
        h.Ready("w1", "echo");

        h.Core.OnPeerDisconnected("w1"u8.ToArray());

        _expired.Should().Equal(("w1", "echo", "connection_lost"));
    }

    [Fact]
    public void WorkerSendsDisconnect_NotReported()
    {
        using var h = new CoreHarness(Options());
        h.Ready("w1", "echo");

        h.Disconnect("w1");

        h.Core.FindWorkerState("w1"u8).Should().BeNull();
        _expired.Should().BeEmpty("a worker that says goodbye did not expire");
    }

    [Fact]
    public void CallbackThrows_CoreGoesOnAndRequeuesTheRequest()
    {
        using var h = new CoreHarness(Options(_ => throw new InvalidOperationException("broken hook")));
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "a");
        h.TakeRequest("w1");
        h.Ready("w2", "echo");

        h.Core.OnPeerDisconnected("w1"u8.ToArray());

        h.TakeRequest("w2").Should().Be(("c1", "a"));
    }
}
