using Reliability.Patterns.Queueing;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

public sealed class WorkerRegistryTests
{
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(3);
    private static readonly RoutingKey A = Key("A");
    private static readonly RoutingKey B = Key("B");
    private static readonly RoutingKey C = Key("C");
    private static readonly byte[] Client = [1, 2, 3];

    private readonly ManualTimeProvider _clock = new();

    [Fact]
    public void OnReady_NewWorkers_RegisteredReadyInArrivalOrder()
    {
        var registry = Create();

        registry.OnReady(A).Outcome.Should().Be(ReadyOutcome.Registered);
        registry.OnReady(B).Outcome.Should().Be(ReadyOutcome.Registered);

        registry.Count.Should().Be(2);
        registry.ReadyCount.Should().Be(2);
        registry.TryDispatch(Request("r1"), out var first).Should().BeTrue();
        first.Should().Be(A, "the least recently used worker gets the next request");
        registry.TryDispatch(Request("r2"), out var second).Should().BeTrue();
        second.Should().Be(B);
    }

    [Fact]
    public void OnReady_RepeatedWhileReady_NotListedTwice()
    {
        var registry = Create();
        registry.OnReady(A);

        registry.OnReady(A).Outcome.Should().Be(ReadyOutcome.AlreadyReady);

        registry.ReadyCount.Should().Be(1);
        registry.TryDispatch(Request("r1"), out _).Should().BeTrue();
        registry.TryDispatch(Request("r2"), out _).Should().BeFalse("a repeated READY must not give the worker two slots");
    }

    [Fact]
    public void TryDispatch_NoReadyWorker_ReturnsFalse()
    {
        var registry = Create();

        registry.TryDispatch(Request("r1"), out _).Should().BeFalse();
        registry.CanAcceptClientRequest.Should().BeFalse();
    }

    [Fact]
    public void OnHeartbeat_BusyWorker_StaysBusyAndGetsNoSecondRequest()
    {
        var registry = Create();
        registry.OnReady(A);
        registry.TryDispatch(Request("r1"), out _);

        registry.OnHeartbeat(A).Should().BeTrue();
        registry.OnHeartbeat(A).Should().BeTrue();

        registry.TryGetState(A, out var state).Should().BeTrue();
        state.Should().Be(WorkerState.Busy, "a heartbeat only refreshes liveness (NetMQ/Samples#13)");
        registry.ReadyCount.Should().Be(0);
        registry.TryDispatch(Request("r2"), out _).Should().BeFalse("a busy worker never gets a second request");
    }

    [Fact]
    public void OnHeartbeat_UnknownWorker_IgnoredAndNotRegistered()
    {
        var registry = Create();

        registry.OnHeartbeat(A).Should().BeFalse();

        registry.Count.Should().Be(0, "PPP: the first message must be READY");
    }

    [Fact]
    public void OnReply_BusyWorker_BecomesReadyAtTheTail()
    {
        var registry = Create();
        registry.OnReady(A);
        registry.OnReady(B);
        registry.TryDispatch(Request("r1"), out _);

        registry.OnReply(A, Client).Should().Be(ReplyOutcome.Accepted);

        registry.ReadyCount.Should().Be(2);
        registry.TryDispatch(Request("r2"), out var next).Should().BeTrue();
        next.Should().Be(B, "A just worked, so B has waited longest");
    }

    [Fact]
    public void OnReply_AddressedToAnotherClient_RejectedAndWorkerStaysBusy()
    {
        var registry = Create();
        registry.OnReady(A);
        registry.TryDispatch(Request("r1"), out _);

        registry.OnReply(A, [9, 9, 9]).Should().Be(ReplyOutcome.WrongRequest);

        registry.TryGetState(A, out var state).Should().BeTrue();
        state.Should().Be(WorkerState.Busy, "the reply answers some older request, not the one the worker holds");
        registry.OnReply(A, Client).Should().Be(ReplyOutcome.Accepted);
    }

    [Fact]
    public void OnReply_ReadyWorker_RejectedAsNotBusy()
    {
        var registry = Create();
        registry.OnReady(A);

        registry.OnReply(A, Client).Should().Be(ReplyOutcome.NotBusy);

        registry.ReadyCount.Should().Be(1);
    }

    [Fact]
    public void OnReply_UnknownWorker_RejectedAndNotRegistered()
    {
        var registry = Create();

        registry.OnReply(A, Client).Should().Be(ReplyOutcome.UnknownWorker);

        registry.Count.Should().Be(0);
    }

    [Fact]
    public void CollectExpired_ExpiredWorkersBehindALiveOne_AllPurged()
    {
        var registry = Create();
        registry.OnReady(A);
        _clock.Advance(TimeSpan.FromSeconds(1));
        registry.OnReady(B);
        registry.OnReady(C);
        registry.TryDispatch(Request("r1"), out _);
        _clock.Advance(TimeSpan.FromSeconds(1));

        // A (head of the list, busy) keeps heartbeating; B and C fall silent.
        registry.OnHeartbeat(A);
        _clock.Advance(TimeSpan.FromSeconds(2.5));

        var expired = registry.CollectExpired();

        expired.Select(e => e.Worker).Should().BeEquivalentTo([B, C], "expiry is per worker, not per list position (zguide#91)");
        registry.Count.Should().Be(1);
        registry.TryGetState(A, out var state).Should().BeTrue();
        state.Should().Be(WorkerState.Busy);
    }

    [Fact]
    public void CollectExpired_BeforeTheDeadline_RemovesNothing()
    {
        var registry = Create();
        registry.OnReady(A);

        _clock.Advance(Expiry - TimeSpan.FromTicks(1));

        registry.CollectExpired().Should().BeEmpty();
        _clock.Advance(TimeSpan.FromTicks(1));
        registry.CollectExpired().Should().ContainSingle().Which.Worker.Should().Be(A);
    }

    [Fact]
    public void CollectExpired_BusyWorkerDied_RequestRequeuedAndServedBeforeNewRequests()
    {
        var registry = Create();
        registry.OnReady(A);
        var request = Request("r1");
        registry.TryDispatch(request, out _);
        _clock.Advance(TimeSpan.FromSeconds(2));
        registry.OnReady(B);
        _clock.Advance(TimeSpan.FromSeconds(1));

        var expired = registry.CollectExpired().Should().ContainSingle().Subject;

        expired.Worker.Should().Be(A);
        expired.State.Should().Be(WorkerState.Busy);
        expired.Lost.Should().Be(new LostRequest(request, LostRequestFate.Requeued));
        registry.RequeuedCount.Should().Be(1);
        registry.CanAcceptClientRequest.Should().BeFalse("the requeued request goes first");
        registry.TryTakeRequeued(out var again).Should().BeTrue();
        again.Should().BeSameAs(request);
        registry.TryDispatch(again, out var worker).Should().BeTrue();
        worker.Should().Be(B);
        request.Requeues.Should().Be(1);
    }

    [Fact]
    public void CollectExpired_RequestAlreadyRequeuedMaxTimes_Abandoned()
    {
        var registry = Create(maxRequeues: 1);
        var request = Request("poison");
        registry.OnReady(A);
        registry.TryDispatch(request, out _);
        _clock.Advance(TimeSpan.FromSeconds(1));
        registry.OnReady(B);
        _clock.Advance(TimeSpan.FromSeconds(2));
        registry.CollectExpired().Single().Lost!.Value.Fate.Should().Be(LostRequestFate.Requeued);
        registry.TryTakeRequeued(out var again).Should().BeTrue();
        registry.TryDispatch(again, out _).Should().BeTrue();

        _clock.Advance(Expiry);
        var second = registry.CollectExpired().Single();

        second.Lost!.Value.Fate.Should().Be(LostRequestFate.AbandonedRequeueLimit, "a request that kills workers must not kill them all");
        registry.RequeuedCount.Should().Be(0);
    }

    [Fact]
    public void CollectExpired_RequeueDisabled_RequestAbandonedAtOnce()
    {
        var registry = Create(maxRequeues: 0);
        registry.OnReady(A);
        registry.TryDispatch(Request("r1"), out _);

        _clock.Advance(Expiry);

        registry.CollectExpired().Single().Lost!.Value.Fate.Should().Be(LostRequestFate.AbandonedRequeueLimit);
        registry.RequeuedCount.Should().Be(0);
    }

    [Fact]
    public void CollectExpired_RequestOlderThanRequeueAge_Abandoned()
    {
        var registry = Create(requeueMaxAge: TimeSpan.FromSeconds(2));
        registry.OnReady(A);
        registry.TryDispatch(Request("r1"), out _);

        _clock.Advance(Expiry);

        registry.CollectExpired().Single().Lost!.Value.Fate.Should().Be(LostRequestFate.AbandonedTooOld);
    }

    [Fact]
    public void DropStaleRequeued_NoWorkerForTooLong_RequestDropped()
    {
        var registry = Create(requeueMaxAge: TimeSpan.FromSeconds(5));
        registry.OnReady(A);
        var request = Request("r1");
        registry.TryDispatch(request, out _);
        _clock.Advance(Expiry);
        registry.CollectExpired();
        registry.RequeuedCount.Should().Be(1);
        registry.NextDeadlineIn.Should().Be(TimeSpan.FromSeconds(2), "the loop must wake when the requeued request becomes too old");

        registry.DropStaleRequeued().Should().BeEmpty();
        _clock.Advance(TimeSpan.FromSeconds(2) + TimeSpan.FromTicks(1));

        registry.DropStaleRequeued().Should().ContainSingle().Which.Should().BeSameAs(request);
        registry.RequeuedCount.Should().Be(0);
    }

    [Fact]
    public void OnReady_BusyWorkerRestarted_RequestLostAndWorkerReadyAgain()
    {
        var registry = Create();
        registry.OnReady(A);
        var request = Request("r1");
        registry.TryDispatch(request, out _);

        var result = registry.OnReady(A);

        result.Outcome.Should().Be(ReadyOutcome.WasBusy);
        result.Lost.Should().Be(new LostRequest(request, LostRequestFate.Requeued));
        registry.TryGetState(A, out var state).Should().BeTrue();
        state.Should().Be(WorkerState.Ready);
        registry.TryTakeRequeued(out var again).Should().BeTrue();
        again.Should().BeSameAs(request);
    }

    [Fact]
    public void Remove_UndeliveredRequest_BackAtTheHeadWithoutCountingARequeue()
    {
        var registry = Create(maxRequeues: 0);
        registry.OnReady(A);
        registry.OnReady(B);
        var earlier = Request("earlier");
        var request = Request("r1");
        registry.TryDispatch(earlier, out _);
        registry.OnReady(A);
        registry.TryDispatch(request, out var worker);

        var removed = registry.Remove(worker, requestDelivered: false);

        removed!.Value.Lost!.Value.Fate.Should().Be(LostRequestFate.Requeued, "a request that never left the queue is not lost");
        request.Requeues.Should().Be(0);
        registry.TryTakeRequeued(out var next).Should().BeTrue();
        next.Should().BeSameAs(request);
    }

    [Fact]
    public void Remove_UnknownWorker_ReturnsNull()
    {
        Create().Remove(A).Should().BeNull();
    }

    [Fact]
    public void OnInvalid_KnownWorker_CountsAsSignOfLife()
    {
        var registry = Create();
        registry.OnReady(A);
        _clock.Advance(TimeSpan.FromSeconds(2));

        registry.OnInvalid(A).Should().BeTrue();
        _clock.Advance(TimeSpan.FromSeconds(2));

        registry.CollectExpired().Should().BeEmpty();
        registry.OnInvalid(B).Should().BeFalse();
    }

    [Fact]
    public void NextDeadlineIn_Workers_EarliestDeadline()
    {
        var registry = Create();
        registry.NextDeadlineIn.Should().BeNull();
        registry.OnReady(A);
        _clock.Advance(TimeSpan.FromSeconds(1));
        registry.OnReady(B);

        registry.NextDeadlineIn.Should().Be(TimeSpan.FromSeconds(2));
        registry.OnHeartbeat(A);
        registry.NextDeadlineIn.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Clear_KnownWorkers_ForgetsEverything()
    {
        var registry = Create();
        registry.OnReady(A);
        registry.OnReady(B);

        registry.Clear().Should().Be(2);

        registry.Count.Should().Be(0);
        registry.Workers.Should().BeEmpty();
    }

    private static RoutingKey Key(string id) => new(PirateTestKit.Bytes(id));

    private WorkerRegistry Create(int maxRequeues = 1, TimeSpan? requeueMaxAge = null) =>
        new(Expiry, maxRequeues, requeueMaxAge ?? TimeSpan.FromSeconds(30), _clock);

    private PendingRequest<Message> Request(string body) =>
        new(new RoutingKey(Client), Message.FromFrames(Client).AppendEmpty().Append(body), _clock.GetTimestamp());
}
