using Reliability.Patterns.Queueing;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>Worker expiry (idle and busy), requeue and request expiry, on a manual clock (interval 1 s, liveness 3).</summary>
public sealed class BrokerCoreExpiryTests
{
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(3);

    [Fact]
    public void OnTimer_IdleWorkerSilentForExpiry_RemovedAndDisconnected()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        h.Advance(Expiry - TimeSpan.FromMilliseconds(1));
        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Ready);
        h.Advance(TimeSpan.FromMilliseconds(1));

        h.Core.FindWorkerState("w1"u8).Should().BeNull();
        h.Core.ServiceCount.Should().Be(0, "an empty service is forgotten");
        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Metric("workers.expired", "expired").Should().Be(1);
        h.Metric("workers", "echo").Should().Be(0);
    }

    [Fact]
    public void OnTimer_WorkerHeartbeating_NeverExpires()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        for (int i = 0; i < 30; i++)
        {
            h.Advance(TimeSpan.FromSeconds(1));
            h.Heartbeat("w1");
        }

        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Ready);
    }

    [Fact]
    public void OnTimer_AnyCommandCountsAsHeartbeat_BusyWorkerReplyingKeepsAlive()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        for (int i = 0; i < 10; i++)
        {
            h.Request("c1", "echo", "x");
            h.Advance(TimeSpan.FromSeconds(2));
            h.Reply("w1", "c1", "y");
        }

        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Ready);
    }

    [Fact]
    public void OnTimer_BusyWorkerSilent_ExpiredAndRequestRequeuedToAnotherWorker()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "job");
        h.TakeRequest("w1");
        h.Ready("w2", "echo");

        for (int i = 0; i < 3; i++)
        {
            h.Advance(TimeSpan.FromSeconds(1));
            h.Heartbeat("w2");
        }

        // docs/wire/mdp.md §10: a busy worker that dies is detected, and its request is not lost.
        h.Core.FindWorkerState("w1"u8).Should().BeNull();
        h.TakeRequest("w2").Should().Be(("c1", "job"));
        h.Metric("requests.requeued").Should().Be(1);
        h.Reply("w2", "c1", "done");
        h.TakeReply<ClientReply>("c1").Should().Be("done");
    }

    [Fact]
    public void OnTimer_ExpiredWorkerBehindALiveOne_StillExpires()
    {
        using var h = new CoreHarness();
        h.Ready("alive", "echo");
        h.Ready("silent", "echo");

        for (int i = 0; i < 4; i++)
        {
            h.Advance(TimeSpan.FromSeconds(1));
            h.Heartbeat("alive");
        }

        // docs/wire/mdp.md §10: expiry does not stop at the first live worker in the list.
        h.Core.FindWorkerState("silent"u8).Should().BeNull();
        h.Core.FindWorkerState("alive"u8).Should().Be(WorkerState.Ready);
    }

    [Fact]
    public void Dispatch_IdleWorkerPastItsDeadline_NeverGetsTheRequest()
    {
        using var h = new CoreHarness();
        h.Ready("stale", "echo");
        h.Clock.Advance(Expiry + TimeSpan.FromSeconds(1)); // time passes but the timer has not run yet
        h.Ready("fresh", "echo");

        h.Request("c1", "echo", "x");

        h.TakeWorkerCommands("stale").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.TakeRequest("fresh").Should().Be(("c1", "x"));
    }

    [Fact]
    public void OnMessage_BusyWorkerDisconnects_RequestRequeued()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Ready("w2", "echo");
        h.Request("c1", "echo", "a");
        h.Request("c2", "echo", "b");
        h.TakeRequest("w1").Should().Be(("c1", "a"));
        h.TakeRequest("w2");
        h.Reply("w2", "c2", "B");

        h.Disconnect("w1");

        h.TakeRequest("w2").Should().Be(("c1", "a"));
        h.TakeWorkerCommands("w1").Should().BeEmpty();
    }

    [Fact]
    public void OnTimer_BusyWorkerUnreachable_DetectedAtHeartbeatAndRequestRequeued()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "a");
        h.TakeRequest("w1");
        h.Ready("w2", "echo");
        h.Request("c2", "echo", "b");
        h.TakeRequest("w2");

        // w1's connection is gone (ROUTER_MANDATORY reports it on the next send).
        h.Sender.Unreachable.Add("w1");
        h.Advance(TimeSpan.FromSeconds(1));
        h.Reply("w2", "c2", "B");

        h.Core.FindWorkerState("w1"u8).Should().BeNull();
        h.TakeRequest("w2").Should().Be(("c1", "a"));
        h.Metric("workers.expired", "unreachable").Should().Be(1);
    }

    [Fact]
    public void OnPeerDisconnected_BusyWorkerGone_RequestRequeuedAtOnce()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "a");
        h.TakeRequest("w1");
        h.Ready("w2", "echo");

        h.Core.OnPeerDisconnected("w1"u8.ToArray());

        h.Core.FindWorkerState("w1"u8).Should().BeNull();
        h.TakeRequest("w2").Should().Be(("c1", "a"), "no heartbeat interval had to pass");
        h.Metric("workers.expired", "connection_lost").Should().Be(1);
        h.Metric("requests.requeued").Should().Be(1);
    }

    [Fact]
    public void OnPeerDisconnected_WorkerThenReadyAgainUnderSameId_RegisteredAfreshAndRequestRedelivered()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "a");
        h.TakeRequest("w1");

        // Handover: the socket reports the old connection's end before the new connection's READY.
        h.Core.OnPeerDisconnected("w1"u8.ToArray());
        h.Ready("w1", "echo");

        h.TakeRequest("w1").Should().Be(("c1", "a"), "the request of the lost connection is requeued to the new one");
        h.Core.FindWorkerState("w1"u8).Should().Be(WorkerState.Busy);
        h.Metric("requests.requeued").Should().Be(1);
    }

    [Fact]
    public void OnPeerDisconnected_ClientGone_ItsQueuedRequestsDroppedOthersKept()
    {
        using var h = new CoreHarness();
        h.Request("gone", "echo", "a");
        h.Request("gone", "echo", "b");
        h.Request("stays", "echo", "c");

        h.Core.OnPeerDisconnected("gone"u8.ToArray());

        h.Core.QueuedRequestCount.Should().Be(1);
        h.Metric("requests.dropped", "client_gone").Should().Be(2);
        h.Ready("w1", "echo");
        h.TakeRequest("w1").Should().Be(("stays", "c"));
    }

    [Fact]
    public void Dispatch_WorkerUnreachable_RequestGoesToNextWorkerWithoutCountingAsRequeue()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxRequeues = 0 });
        h.Ready("gone", "echo");
        h.Ready("w2", "echo");
        h.Sender.Unreachable.Add("gone");

        h.Request("c1", "echo", "x");

        h.TakeRequest("w2").Should().Be(("c1", "x"));
        h.Core.FindWorkerState("gone"u8).Should().BeNull();
        h.Metric("requests.requeued").Should().Be(0);
    }

    [Fact]
    public void Dispatch_WorkerQueueFull_TreatedAsGone()
    {
        using var h = new CoreHarness();
        h.Ready("stuck", "echo");
        h.Sender.Full.Add("stuck");

        h.Request("c1", "echo", "x");

        h.Core.FindWorkerState("stuck"u8).Should().BeNull();
        h.Core.QueuedRequestCount.Should().Be(1);
        h.Ready("w2", "echo");
        h.TakeRequest("w2").Should().Be(("c1", "x"));
    }

    [Fact]
    public void Requeue_MoreThanMaxRequeues_RequestDropped()
    {
        using var h = new CoreHarness(new BrokerOptions { HeartbeatInterval = TimeSpan.FromSeconds(1), MaxRequeues = 1 });
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "poison");
        h.TakeRequest("w1");
        h.Disconnect("w1");
        h.Ready("w2", "echo");
        h.TakeRequest("w2").Should().Be(("c1", "poison"));

        h.Disconnect("w2");
        h.Ready("w3", "echo");

        h.TakeWorkerCommands("w3").Should().BeEmpty();
        h.Core.QueuedRequestCount.Should().Be(0);
        h.Metric("requests.dropped", "requeue_limit").Should().Be(1);
        h.Metric("requests.requeued").Should().Be(1);
    }

    [Fact]
    public void Requeue_RequeuedRequest_GoesBeforeLaterRequests()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "first");
        h.TakeRequest("w1");
        h.Request("c2", "echo", "second");
        h.Request("c1", "echo", "third");

        h.Disconnect("w1");
        h.Ready("w2", "echo");

        h.TakeRequest("w2").Should().Be(("c1", "first"));
    }

    [Fact]
    public void OnTimer_QueuedRequestForServiceWithoutWorkers_ExpiresAndServiceIsForgotten()
    {
        using var h = new CoreHarness();
        h.Request("c1", "nobody", "x");

        h.Advance(TimeSpan.FromSeconds(9));
        h.Core.QueuedRequestCount.Should().Be(1);
        h.Advance(TimeSpan.FromSeconds(2));

        h.Core.QueuedRequestCount.Should().Be(0);
        h.Core.ServiceCount.Should().Be(0);
        h.Metric("requests.dropped", "expired").Should().Be(1);
        h.Metric("queue.depth", "nobody").Should().Be(0);
        h.Ready("late", "nobody");
        h.TakeWorkerCommands("late").Should().BeEmpty();
    }

    [Fact]
    public void OnTimer_QueuedRequests_OnlyTheOldOnesExpire()
    {
        using var h = new CoreHarness();
        h.Request("c1", "svc", "old");
        h.Advance(TimeSpan.FromSeconds(6));
        h.Request("c2", "svc", "new");

        h.Advance(TimeSpan.FromSeconds(5));
        h.Ready("w1", "svc");

        h.TakeRequest("w1").Should().Be(("c2", "new"));
    }

    [Fact]
    public void NextDeadline_WorkerRegistered_NoLaterThanItsExpiry()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Advance(TimeSpan.FromMilliseconds(1500));

        h.Core.NextDeadlineIn.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(1));
    }
}
