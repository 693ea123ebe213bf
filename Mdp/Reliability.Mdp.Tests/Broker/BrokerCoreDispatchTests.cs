using Reliability.Patterns.Queueing;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>Registration, dispatch order and replies, on a manual clock without sockets.</summary>
public sealed class BrokerCoreDispatchTests
{
    [Fact]
    public void OnMessage_ReadyThenRequest_WorkerGetsRequestWithClientAddress()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        h.Request("c1", "echo", "hello");

        h.TakeRequest("w1").Should().Be(("c1", "hello"));
        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Busy);
        h.Metric("requests.dispatched").Should().Be(1);
    }

    [Fact]
    public void OnMessage_ReplyFromBusyWorker_ClientGetsReplyAndWorkerIsReadyAgain()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "hello");
        h.TakeRequest("w1");

        h.Reply("w1", "c1", "HELLO");

        var reply = h.TakeClientReplies("c1").Should().ContainSingle().Which.Should().BeOfType<ClientReply>().Subject;
        reply.Service.Should().Be("echo");
        reply.Body.Should().ContainSingle().Which.ToArray().Should().Equal("HELLO"u8.ToArray());
        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Ready);
        h.Metric("replies.sent").Should().Be(1);
    }

    [Fact]
    public void OnMessage_RequestBodyOfSeveralFrames_ForwardedFrameForFrame()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        h.Request("c1", "echo", [new byte[] { 0, 1 }, Array.Empty<byte>(), "x"u8.ToArray()]);

        var request = h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().BeOfType<WorkerRequest>().Subject;
        request.Body.Select(f => f.ToArray()).Should().BeEquivalentTo(new[] { new byte[] { 0, 1 }, [], "x"u8.ToArray() }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void OnMessage_RequestWithoutWorker_QueuedUntilAWorkerRegisters()
    {
        using var h = new CoreHarness();
        h.Request("c1", "echo", "early");
        h.Core.QueuedRequestCount.Should().Be(1);
        h.Core.ServiceCount.Should().Be(1);

        h.Advance(TimeSpan.FromSeconds(2));
        h.Ready("w1", "echo");

        h.TakeRequest("w1").Should().Be(("c1", "early"));
        h.Core.QueuedRequestCount.Should().Be(0);
    }

    [Fact]
    public void Dispatch_SeveralIdleWorkers_LeastRecentlyUsedFirst()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Ready("w2", "echo");
        h.Ready("w3", "echo");
        var order = new List<string>();

        for (int i = 0; i < 6; i++)
        {
            h.Request("c1", "echo", $"r{i}");
            string worker = new[] { "w1", "w2", "w3" }.Single(w => h.Core.FindWorkerState(System.Text.Encoding.UTF8.GetBytes(w)) == WorkerState.Busy);
            order.Add(worker);
            h.TakeRequest(worker);
            h.Reply(worker, "c1", "ok");
            h.TakeClientReplies("c1");
        }

        // A worker that just finished goes to the back of the line.
        order.Should().Equal("w1", "w2", "w3", "w1", "w2", "w3");
    }

    [Fact]
    public void Dispatch_QueuedRequestsOfSeveralClients_ServedRoundRobinBetweenClients()
    {
        using var h = new CoreHarness();
        h.Request("a", "echo", "a1");
        h.Request("a", "echo", "a2");
        h.Request("a", "echo", "a3");
        h.Request("b", "echo", "b1");
        h.Ready("w1", "echo");
        var served = new List<string>();

        for (int i = 0; i < 4; i++)
        {
            var (client, body) = h.TakeRequest("w1");
            served.Add(body);
            h.Reply("w1", client, "ok");
        }

        // b's single request does not wait behind all of a's.
        served.Should().Equal("a1", "b1", "a2", "a3");
    }

    [Fact]
    public void OnMessage_HeartbeatFromBusyWorker_DoesNotMakeItReady()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "first");
        h.TakeRequest("w1");

        h.Heartbeat("w1");
        h.Request("c2", "echo", "second");

        // docs/wire/mdp.md §9: any traffic is not "ready"; the second request waits for the reply.
        h.TakeWorkerCommands("w1").Should().BeEmpty();
        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Busy);
        h.Reply("w1", "c1", "done");
        h.TakeRequest("w1").Should().Be(("c2", "second"));
    }

    [Fact]
    public void OnMessage_SeveralServices_EachRequestGoesToItsOwnService()
    {
        using var h = new CoreHarness();
        h.Ready("we", "echo");
        h.Ready("wt", "time");

        h.Request("c1", "time", "now?");
        h.Request("c2", "echo", "hi");

        h.TakeRequest("wt").Should().Be(("c1", "now?"));
        h.TakeRequest("we").Should().Be(("c2", "hi"));
    }

    [Fact]
    public void OnMessage_LastWorkerDisconnects_ServiceForgotten()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Core.ServiceCount.Should().Be(1);

        h.Disconnect("w1");

        h.Core.ServiceCount.Should().Be(0);
        h.Core.WorkerCount.Should().Be(0);
        h.TakeWorkerCommands("w1").Should().BeEmpty("the broker sends nothing after a worker's DISCONNECT");
    }

    [Fact]
    public void OnTimer_IdleWorkers_GetHeartbeatsButNotRightAfterARequest()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Ready("w2", "echo");

        h.Advance(TimeSpan.FromMilliseconds(900));
        h.Request("c1", "echo", "x");
        h.Advance(TimeSpan.FromMilliseconds(100));

        // w1 was just sent a REQUEST (which counts as a heartbeat); w2 was sent nothing.
        h.TakeWorkerCommands("w1", includeHeartbeats: true).Should().ContainSingle().Which.Should().BeOfType<WorkerRequest>();
        h.TakeWorkerCommands("w2", includeHeartbeats: true).Should().ContainSingle().Which.Should().Be(WorkerHeartbeat.Instance);
    }

    [Fact]
    public void OnTimer_BusyWorker_GetsHeartbeatsToo()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "long job");
        h.TakeRequest("w1");

        for (int i = 0; i < 5; i++)
        {
            h.Advance(TimeSpan.FromSeconds(1));
            h.Heartbeat("w1");
        }

        // A busy worker must hear from the broker or it would think the broker dead.
        h.TakeWorkerCommands("w1", includeHeartbeats: true).Should().HaveCountGreaterThanOrEqualTo(4).And.OnlyContain(c => c == WorkerHeartbeat.Instance);
        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Busy);
    }

    [Fact]
    public void Shutdown_WorkersOfBothVersions_EachGetsDisconnectAndQueuedRequestsAreDropped()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo", MdpVersion.V01);
        h.Ready("w2", "echo", MdpVersion.V02);
        h.Request("c1", "other", "queued");

        h.Core.Shutdown();

        var toW1 = h.Take("w1").Should().ContainSingle().Subject.AsWorker;
        var toW2 = h.Take("w2").Should().ContainSingle().Subject.AsWorker;
        (toW1.Command, toW1.Version).Should().Be(((MdpWorkerCommand?)WorkerDisconnect.Instance, MdpVersion.V01));
        (toW2.Command, toW2.Version).Should().Be(((MdpWorkerCommand?)WorkerDisconnect.Instance, MdpVersion.V02));
        h.Core.WorkerCount.Should().Be(0);
        h.Core.ServiceCount.Should().Be(0);
        h.Metric("requests.dropped", "shutdown").Should().Be(1);
        h.Metric("queue.depth").Should().Be(0);
        h.Metric("workers").Should().Be(0);
    }

    [Fact]
    public void OnMessage_AfterShutdown_Ignored()
    {
        using var h = new CoreHarness();
        h.Core.Shutdown();

        h.Ready("w1", "echo");
        h.Request("c1", "echo", "x");

        h.Sender.Messages.Should().BeEmpty();
        h.Core.WorkerCount.Should().Be(0);
    }

    [Fact]
    public void Metrics_RequestLifecycle_CountsAndGaugesMatch()
    {
        using var h = new CoreHarness();
        h.Request("c1", "echo", "a");
        h.Request("c2", "echo", "b");
        h.Metric("queue.depth", "echo").Should().Be(2);

        h.Ready("w1", "echo");
        h.Metric("workers", "echo").Should().Be(1);
        h.Metric("queue.depth", "echo").Should().Be(1);
        var (client, _) = h.TakeRequest("w1");
        h.Reply("w1", client, "A");
        var (client2, _) = h.TakeRequest("w1");
        h.Reply("w1", client2, "B");

        h.Metric("requests.received").Should().Be(2);
        h.Metric("requests.dispatched").Should().Be(2);
        h.Metric("replies.sent").Should().Be(2);
        h.Metric("queue.depth", "echo").Should().Be(0);
    }
}
