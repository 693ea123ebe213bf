using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Testing;

namespace Reliability.Patterns.Tests.Queueing;

public sealed class WorkerPoolTests
{
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(3);

    private readonly ManualTimeProvider _clock = new();
    private readonly LinkedList<TestWorker> _idle = new();
    private readonly TestQueue _queue = new();

    [Fact]
    public void Add_WorkersJoinTheIdleListInArrivalOrder()
    {
        var pool = Create();
        var a = Add(pool, "A");
        var b = Add(pool, "B");

        _idle.Should().Equal(a, b);
        pool.Count.Should().Be(2);
        pool.TryGet("B"u8, out var found).Should().BeTrue();
        found.Should().BeSameAs(b);
    }

    [Fact]
    public void MakeReady_AfterWork_WorkerGoesToTheBackAndItsRequestIsReturned()
    {
        var pool = Create();
        var a = Add(pool, "A");
        var b = Add(pool, "B");
        var request = Request("c1");
        pool.StartWork(a, request);

        _idle.Should().Equal(b);
        a.State.Should().Be(WorkerState.Busy);
        pool.MakeReady(a).Should().BeSameAs(request);

        _idle.Should().Equal(b, a);
        a.State.Should().Be(WorkerState.Ready);
        a.Request.Should().BeNull();
    }

    [Fact]
    public void MakeReady_AlreadyIdle_KeepsItsPlace()
    {
        var pool = Create();
        var a = Add(pool, "A");
        var b = Add(pool, "B");

        pool.MakeReady(a).Should().BeNull();

        _idle.Should().Equal(a, b);
    }

    [Fact]
    public void StartWork_BusyWorker_Throws()
    {
        var pool = Create();
        var a = Add(pool, "A");
        pool.StartWork(a, Request("c1"));

        var second = () => pool.StartWork(a, Request("c2"));

        second.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void CollectExpired_BusyAndIdleWorkersBothExpire_TouchedOnesLive()
    {
        var pool = Create();
        var busy = Add(pool, "busy");
        var idle = Add(pool, "idle");
        var alive = Add(pool, "alive");
        pool.StartWork(busy, Request("c1"));
        _clock.Advance(TimeSpan.FromSeconds(2));
        long touchedAt = _clock.GetTimestamp();
        pool.Touch(alive);
        _clock.Advance(TimeSpan.FromSeconds(1));

        pool.IsExpired(busy).Should().BeTrue();
        pool.IsExpired(alive).Should().BeFalse();
        pool.CollectExpired().Should().BeEquivalentTo([busy, idle]);
        pool.Count.Should().Be(3, "the owner removes them, with its own reasons");
        pool.NextExpiry.Should().Be(touchedAt + Units(Expiry));
    }

    [Fact]
    public void Remove_BusyWorker_ReturnsItsRequestAndForgetsIt()
    {
        var pool = Create();
        var a = Add(pool, "A");
        var request = Request("c1");
        pool.StartWork(a, request);

        pool.Remove(a).Should().BeSameAs(request);

        a.State.Should().Be(WorkerState.Expired);
        pool.Count.Should().Be(0);
        pool.TryGet("A"u8, out _).Should().BeFalse();
        pool.NextExpiry.Should().BeNull();
    }

    [Fact]
    public void Remove_IdleWorker_LeavesTheIdleList()
    {
        var pool = Create();
        var a = Add(pool, "A");
        var b = Add(pool, "B");

        pool.Remove(a).Should().BeNull();

        _idle.Should().Equal(b);
    }

    [Fact]
    public void Requeue_WithinLimits_BackAtTheHeadCountedAndQueuedFromNow()
    {
        var pool = Create(maxRequeues: 1);
        var request = Request("c1");
        _clock.Advance(TimeSpan.FromSeconds(1));

        pool.Requeue(request, _queue).Should().Be(LostRequestFate.Requeued);

        _queue.Requeued.Should().Equal(request);
        request.Requeues.Should().Be(1);
        request.QueuedAt.Should().Be(_clock.GetTimestamp());
    }

    [Fact]
    public void Requeue_LimitReached_Abandoned()
    {
        var pool = Create(maxRequeues: 1);
        var request = Request("c1");
        pool.Requeue(request, _queue);

        pool.Requeue(request, _queue).Should().Be(LostRequestFate.AbandonedRequeueLimit);

        _queue.Requeued.Should().HaveCount(1);
    }

    [Fact]
    public void Requeue_OlderThanTheAgeLimit_AbandonedTooOld()
    {
        var pool = Create(maxRequeues: 5, requeueMaxAge: TimeSpan.FromSeconds(5));
        var request = Request("c1");
        _clock.Advance(TimeSpan.FromSeconds(5));
        pool.IsTooOld(request, _clock.GetTimestamp()).Should().BeFalse("the limit is inclusive");
        _clock.Advance(TimeSpan.FromMilliseconds(1));

        pool.Requeue(request, _queue).Should().Be(LostRequestFate.AbandonedTooOld);

        _queue.Requeued.Should().BeEmpty();
    }

    [Fact]
    public void RequeueDeadline_NoAgeLimit_Never()
    {
        var pool = Create(requeueMaxAge: Timeout.InfiniteTimeSpan);

        pool.RequeueDeadline(Request("c1")).Should().Be(long.MaxValue);
    }

    [Fact]
    public void Clear_ForgetsEveryWorker()
    {
        var pool = Create();
        var a = Add(pool, "A");
        var b = Add(pool, "B");
        pool.StartWork(b, Request("c1"));

        pool.Clear().Should().Be(2);

        _idle.Should().BeEmpty();
        a.State.Should().Be(WorkerState.Expired);
        b.Request.Should().BeNull();
        pool.Count.Should().Be(0);
    }

    private WorkerPool<TestWorker, string> Create(int maxRequeues = 1, TimeSpan? requeueMaxAge = null) =>
        new(Expiry, maxRequeues, requeueMaxAge ?? TimeSpan.FromSeconds(30), _clock);

    private TestWorker Add(WorkerPool<TestWorker, string> pool, string id)
    {
        var worker = new TestWorker(new RoutingKey(System.Text.Encoding.UTF8.GetBytes(id)), _idle);
        pool.Add(worker);
        return worker;
    }

    private PendingRequest<string> Request(string client) =>
        new(new RoutingKey(System.Text.Encoding.UTF8.GetBytes(client)), "body", _clock.GetTimestamp());

    private long Units(TimeSpan duration) => Timestamps.ToUnits(duration, _clock.TimestampFrequency);

    private sealed class TestWorker(RoutingKey id, LinkedList<TestWorker> idle) : PooledWorker<TestWorker, string>(id, idle);

    private sealed class TestQueue : IRequeueTarget<string>
    {
        public List<PendingRequest<string>> Requeued { get; } = [];

        public void Requeue(PendingRequest<string> request) => Requeued.Insert(0, request);
    }
}
