using Reliability.Patterns.Queueing;
using System.Text;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>DISCONNECT rules, invalid input and MDP/0.1 with MDP/0.2 side by side.</summary>
public sealed class BrokerCoreProtocolTests
{
    [Theory]
    [InlineData(MdpVersion.V01)]
    [InlineData(MdpVersion.V02)]
    public void OnMessage_HeartbeatFromUnknownWorker_DisconnectInItsVersion(MdpVersion version)
    {
        using var h = new CoreHarness();

        h.Heartbeat("stranger", version);

        var sent = h.Take("stranger").Should().ContainSingle().Subject.AsWorker;
        sent.Command.Should().Be(WorkerDisconnect.Instance);
        sent.Version.Should().Be(version);
    }

    [Fact]
    public void OnMessage_ReplyFromUnknownWorker_DisconnectAndNothingForwarded()
    {
        using var h = new CoreHarness();

        h.Reply("stranger", "c1", "late");

        h.TakeWorkerCommands("stranger").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Take("c1").Should().BeEmpty();
    }

    [Fact]
    public void OnMessage_BurstOfHeartbeatsFromUnknownWorker_OneDisconnectOnly()
    {
        using var h = new CoreHarness();

        for (int i = 0; i < 10; i++)
        {
            h.Heartbeat("restarted");
        }

        // docs/wire/mdp.md §12: a reconnecting DEALER flushes stale heartbeats; it needs to hear DISCONNECT once.
        h.TakeWorkerCommands("restarted").Should().ContainSingle();
    }

    [Fact]
    public void OnMessage_ReadyAfterBeingDisconnected_RegisteredAgain()
    {
        using var h = new CoreHarness();
        h.Heartbeat("w1");
        h.Take("w1");

        h.Ready("w1", "echo");
        h.Request("c1", "echo", "x");

        h.TakeRequest("w1").Should().Be(("c1", "x"));
    }

    [Fact]
    public void OnMessage_DisconnectFromUnknownWorker_NothingSent()
    {
        using var h = new CoreHarness();

        h.Disconnect("stranger");

        h.Sender.Messages.Should().BeEmpty();
    }

    [Fact]
    public void OnMessage_SecondReady_DisconnectAndWorkerRemovedWithRequestRequeued()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "x");
        h.TakeRequest("w1");

        h.Ready("w1", "echo");

        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Core.FindWorkerState("w1"u8).Should().BeNull();
        h.Core.QueuedRequestCount.Should().Be(1);
        h.Metric("disconnects.sent", "violation").Should().Be(1);
    }

    [Fact]
    public void OnMessage_ReplyFromIdleWorker_Disconnect()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        h.Reply("w1", "c1", "unasked");

        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Take("c1").Should().BeEmpty();
        h.Core.WorkerCount.Should().Be(0);
    }

    [Fact]
    public void OnMessage_ReplyForAnotherClient_DisconnectAndRequestRequeued()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "x");
        h.TakeRequest("w1");

        h.Reply("w1", "c2", "misrouted");

        h.Take("c2").Should().BeEmpty();
        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Ready("w2", "echo");
        h.TakeRequest("w2").Should().Be(("c1", "x"));
    }

    [Fact]
    public void OnMessage_WorkerSwitchesProtocolVersion_Disconnected()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo", MdpVersion.V01);

        h.Heartbeat("w1", MdpVersion.V02);

        var sent = h.Take("w1").Should().ContainSingle().Subject.AsWorker;
        sent.Command.Should().Be(WorkerDisconnect.Instance);
        sent.Version.Should().Be(MdpVersion.V01, "the worker registered in MDP/0.1");
        h.Core.WorkerCount.Should().Be(0);
    }

    [Fact]
    public void OnMessage_ReadyForMmiService_DisconnectedAndNotRegistered()
    {
        using var h = new CoreHarness();

        h.Ready("w1", "mmi.service");

        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Core.WorkerCount.Should().Be(0);
        h.Core.ServiceCount.Should().Be(0);
        h.MmiLookup("mmi.service").Should().Be(Mmi.NotFound);
    }

    [Fact]
    public void OnMessage_InvalidMessages_CountedDroppedAndServiceContinues()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        h.Deliver("junk", Message.FromStrings("hello"));
        h.Deliver("junk", Message.FromStrings(string.Empty, "MDPC01"));
        h.Deliver("junk", Message.FromStrings(string.Empty, "MDPX01", "echo"));
        h.Deliver("junk", new Message().AppendEmpty().Append("MDPW01").Append(new byte[] { 0x09 }));
        h.Core.OnMessage(new Message());
        h.Core.OnMessage(new Message().AppendEmpty());

        h.Metric("messages.invalid").Should().Be(6);
        h.Take("junk").Should().BeEmpty();
        h.Request("c1", "echo", "still here");
        h.TakeRequest("w1").Should().Be(("c1", "still here"));
    }

    [Fact]
    public void OnMessage_FloodOfInvalidMessages_LogsTenPerSecondAndSummarisesTheRest()
    {
        using var log = new InMemoryLog();
        using var h = new CoreHarness(logger: log.CreateLogger("Broker"));

        for (int i = 0; i < 100; i++)
        {
            h.Deliver("junk", Message.FromStrings("garbage"));
        }

        h.Metric("messages.invalid").Should().Be(100, "the metric counts every drop");
        log.Lines.Count(l => l.Contains("[3030]", StringComparison.Ordinal)).Should().Be(10);
        log.Lines.Should().NotContain(l => l.Contains("[3034]", StringComparison.Ordinal), "the window is still open");

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        h.Core.OnTimer();
        log.Lines.Should().ContainSingle(l => l.Contains("[3034]", StringComparison.Ordinal))
            .Which.Should().Contain("90 more invalid message(s)");

        h.Deliver("junk", Message.FromStrings("garbage"));
        log.Lines.Count(l => l.Contains("[3030]", StringComparison.Ordinal)).Should().Be(11, "a new window logs again");
    }

    [Fact]
    public void FloodOfRefusedRequests_LogsTenLinesAndOneSummaryPerReason()
    {
        using var log = new InMemoryLog();
        using var h = new CoreHarness(new BrokerOptions { MaxServiceNameLength = 4 }, log.CreateLogger("Broker"));

        for (int i = 0; i < 5000; i++)
        {
            h.Request("c1", "much-too-long", "x");
        }

        h.Metric("requests.dropped", "service_name_too_long").Should().Be(5000, "the metric counts every drop");
        log.Lines.Count(l => l.Contains("[3023]", StringComparison.Ordinal)).Should().Be(10);

        h.Clock.Advance(TimeSpan.FromSeconds(10));
        h.Core.OnTimer();
        log.Lines.Should().ContainSingle(l => l.Contains("[3035]", StringComparison.Ordinal))
            .Which.Should().Contain("4990 more request(s)").And.Contain("service_name_too_long");
    }

    [Fact]
    public void LogBudget_SuppressedLines_ReportedOnceAfterTheirWindow()
    {
        var clock = new ManualTimeProvider();
        var budget = new LogBudget(2, TimeSpan.FromSeconds(1), clock);

        budget.TryTake().Should().BeTrue();
        budget.TryTake().Should().BeTrue();
        budget.TryTake().Should().BeFalse();
        budget.TakeSuppressed().Should().Be(0, "the window has not ended");

        clock.Advance(TimeSpan.FromSeconds(1));
        budget.TryTake().Should().BeTrue();
        budget.TakeSuppressed().Should().Be(1);
        budget.TakeSuppressed().Should().Be(0, "reported once");
    }

    [Fact]
    public void OnMessage_InvalidMessageFromRegisteredWorker_WorkerDisconnected()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        h.Deliver("w1", new Message().AppendEmpty().Append("MDPW01").Append(new byte[] { 0x04 }).Append("extra"));

        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Core.WorkerCount.Should().Be(0);
    }

    [Fact]
    public void Versions_V02WorkerAndV01Client_PartialsDroppedFinalBecomesReply()
    {
        using var h = new CoreHarness();
        h.Ready("w2", "echo", MdpVersion.V02);
        h.Request("c1", "echo", "x", MdpVersion.V01);
        var request = h.Take("w2").Should().ContainSingle().Subject.AsWorker;
        request.Version.Should().Be(MdpVersion.V02);

        h.Partial("w2", "c1", "part");
        h.Reply("w2", "c1", "final", MdpVersion.V02);

        var reply = h.Take("c1").Should().ContainSingle().Subject.AsClient;
        reply.Version.Should().Be(MdpVersion.V01);
        reply.Command.Should().BeOfType<ClientReply>().Which.Body[0].ToArray().Should().Equal("final"u8.ToArray());
        h.Metric("replies.dropped", "partial_to_mdp01_client").Should().Be(1);
    }

    [Fact]
    public void Versions_V02WorkerAndV02Client_PartialsThenFinal()
    {
        using var h = new CoreHarness();
        h.Ready("w2", "echo", MdpVersion.V02);
        h.Request("c2", "echo", "x", MdpVersion.V02);
        h.Take("w2");

        h.Partial("w2", "c2", "p1");
        h.Partial("w2", "c2", "p2");
        h.Core.FindWorkerState("w2"u8).Should().Be(WorkerState.Busy, "PARTIAL does not end the request");
        h.Reply("w2", "c2", "done", MdpVersion.V02);

        var replies = h.TakeClientReplies("c2");
        replies.Select(r => r.GetType()).Should().Equal(typeof(ClientPartial), typeof(ClientPartial), typeof(ClientFinal));
        replies.Select(r => Encoding.UTF8.GetString(r.Body[0].Span)).Should().Equal("p1", "p2", "done");
        h.Core.FindWorkerState("w2"u8).Should().Be(WorkerState.Ready);
    }

    [Fact]
    public void Versions_V01WorkerAndV02Client_ReplyBecomesFinal()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo", MdpVersion.V01);
        h.Request("c2", "echo", "x", MdpVersion.V02);
        h.Take("w1").Should().ContainSingle().Which.AsWorker.Version.Should().Be(MdpVersion.V01);

        h.Reply("w1", "c2", "answer", MdpVersion.V01);

        var reply = h.Take("c2").Should().ContainSingle().Subject.AsClient;
        reply.Version.Should().Be(MdpVersion.V02);
        reply.Command.Should().BeOfType<ClientFinal>();
    }

    [Fact]
    public void Versions_WorkersOfBothVersionsInOneService_BothServed()
    {
        using var h = new CoreHarness();
        h.Ready("old", "echo", MdpVersion.V01);
        h.Ready("new", "echo", MdpVersion.V02);

        h.Request("c1", "echo", "a", MdpVersion.V01);
        h.Request("c2", "echo", "b", MdpVersion.V02);

        h.Take("old").Should().ContainSingle().Which.AsWorker.Version.Should().Be(MdpVersion.V01);
        h.Take("new").Should().ContainSingle().Which.AsWorker.Version.Should().Be(MdpVersion.V02);
        h.Reply("old", "c1", "A", MdpVersion.V01);
        h.Reply("new", "c2", "B", MdpVersion.V02);
        h.TakeReply<ClientReply>("c1").Should().Be("A");
        h.TakeReply<ClientFinal>("c2").Should().Be("B");
    }

    [Fact]
    public void SendReply_ClientGone_DroppedAndCountedWorkerStillReady()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "x");
        h.TakeRequest("w1");
        h.Sender.Unreachable.Add("c1");

        h.Reply("w1", "c1", "nobody listens");

        h.Metric("replies.dropped", "client_gone").Should().Be(1);
        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Ready);
    }
}
