using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

[Collection(PirateLoopbackCollection.Name)]
public sealed class ParanoidPirateIntegrationTests
{
    private static readonly byte[] Ready = [1];
    private static readonly byte[] Heartbeat = [2];

    [Fact]
    public async Task RunAsync_SeveralWorkersAndClients_EveryRequestAnsweredExactlyOnce()
    {
        var log = new InMemoryLog();
        await using var queue = StartQueue(out var running, log: log);
        await using var _ = running;
        var registered = PirateTestKit.Events(queue, QueueEventKind.WorkerRegistered, 3);
        var workers = Enumerable.Range(0, 3).Select(_ => StartWorker(queue, PirateTestKit.Echo, log)).ToList();
        await registered.WaitAsync(PirateTestKit.Wait);

        var ledger = new AnswerLedger();
        var requests = Enumerable.Range(0, 25).SelectMany(i => Enumerable.Range(0, 4).Select(c => $"c{c}-r{i}")).ToList();
        await ledger.SendFromClientsAsync(queue.FrontendEndpoint!, requests, clients: 4);

        ledger.ShouldHaveExactlyOnce(requests);
        queue.WorkerCount.Should().Be(3, log.ToString());
        await Task.WhenAll(workers.Select(w => w.StopAsync()));
    }

    [Fact]
    public async Task RunAsync_WorkerKilledMidRequestWithoutRequeue_ClientRetryAnsweredByAnotherWorker()
    {
        await using var queue = StartQueue(out var running, maxRequeues: 0);
        await using var _ = running;
        var gotRequest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        var doomed = StartWorker(queue, async (body, ct) =>
        {
            gotRequest.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return body;
        });
        await registered.WaitAsync(PirateTestKit.Wait);

        await using var client = new TestClient(queue.FrontendEndpoint!, TimeSpan.FromMilliseconds(600));
        var request = client.RequestAsync("survivor");
        await gotRequest.Task.WaitAsync(PirateTestKit.Wait);
        var abandoned = PirateTestKit.NextEvent(queue, QueueEventKind.RequestAbandoned);
        await doomed.DisposeAsync();
        await using var healthy = StartWorker(queue, (body, _) => ValueTask.FromResult(Message.FromStrings("healthy:" + body.GetString(0))));

        (await request.WaitAsync(PirateTestKit.Wait)).Should().Be("healthy:survivor");
        await abandoned.WaitAsync(PirateTestKit.Wait);
        client.Retries.Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task RunAsync_WorkerHungMidRequest_ExpiredAndRequestRequeuedToAnotherWorker()
    {
        await using var queue = StartQueue(out var running, maxRequeues: 1);
        await using var _ = running;

        // A worker that takes a request and then goes silent with its connection still open.
        await using var hung = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero, RoutingId = PirateTestKit.Bytes("hung") });
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        hung.Connect(queue.BackendEndpoint!);
        await PirateTestKit.SendAsync(hung, Message.FromFrames(Ready));
        await registered.WaitAsync(PirateTestKit.Wait);

        // A plain REQ without any retry: only the queue's requeue can get it an answer.
        await using var client = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
        client.Connect(queue.FrontendEndpoint!);
        var expired = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerExpired);
        var requeued = PirateTestKit.NextEvent(queue, QueueEventKind.RequestRequeued);
        await PirateTestKit.SendAsync(client, Message.FromStrings("requeue me"));
        var taken = await NextRequestAsync(hung);
        taken.GetString(taken.Count - 1).Should().Be("requeue me");
        await using var healthy = StartWorker(queue, PirateTestKit.Echo);

        (await expired.WaitAsync(PirateTestKit.Wait)).Should().Be(new RoutingKey(PirateTestKit.Bytes("hung")));
        await requeued.WaitAsync(PirateTestKit.Wait);
        var reply = await PirateTestKit.ReceiveAsync(client);
        reply.GetString(0).Should().Be("requeue me");
    }

    [Fact]
    public async Task RunAsync_SilentWorker_OnWorkerExpiredToldItsIdentity()
    {
        var expired = new TaskCompletionSource<WorkerExpiredArguments>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var queue = StartQueue(out var running, onWorkerExpired: e => expired.TrySetResult(e));
        await using var _ = running;
        await using var silent = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero, RoutingId = PirateTestKit.Bytes("quiet") });
        silent.Connect(queue.BackendEndpoint!);
        await PirateTestKit.SendAsync(silent, Message.FromFrames(Ready));

        var e = await expired.Task.WaitAsync(PirateTestKit.Wait);

        PirateTestKit.Text(e.WorkerId).Should().Be("quiet");
        e.Service.Should().BeNull();
        e.Reason.Should().Be("expired");
    }

    [Fact]
    public async Task RunAsync_LateReplyFromExpiredWorker_DroppedSoClientGetsOneAnswer()
    {
        await using var queue = StartQueue(out var running, maxRequeues: 1);
        await using var _ = running;
        await using var hung = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero, RoutingId = PirateTestKit.Bytes("late") });
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        hung.Connect(queue.BackendEndpoint!);
        await PirateTestKit.SendAsync(hung, Message.FromFrames(Ready));
        await registered.WaitAsync(PirateTestKit.Wait);
        await using var client = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        client.Connect(queue.FrontendEndpoint!);
        var expired = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerExpired);
        await PirateTestKit.SendAsync(client, Message.FromStrings("", "once"));
        var taken = await NextRequestAsync(hung);
        await expired.WaitAsync(PirateTestKit.Wait);
        await using var healthy = StartWorker(queue, PirateTestKit.Echo);
        var first = await PirateTestKit.ReceiveAsync(client);

        // The expired worker wakes up and answers; the queue no longer knows it and must drop the reply.
        var dropped = PirateTestKit.NextEvent(queue, QueueEventKind.ReplyDropped);
        await PirateTestKit.SendAsync(hung, taken);

        await dropped.WaitAsync(PirateTestKit.Wait);
        first.Select(PirateTestKit.Text).Should().Equal("", "once");
        (await PirateTestKit.TryReceiveAsync(client, TimeSpan.FromMilliseconds(200))).Should().BeNull("the client must get exactly one answer");
    }

    [Fact]
    public async Task RunAsync_SlowRequestLongerThanExpiry_WorkerHeartbeatsAndNeverGetsASecondRequest()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        var expiredWorkers = new ConcurrentBag<RoutingKey>();
        queue.Observed += (kind, key) =>
        {
            if (kind is QueueEventKind.WorkerExpired or QueueEventKind.WorkerUnreachable)
            {
                expiredWorkers.Add(key);
            }
        };
        int slowCalls = 0, slowConcurrent = 0, slowMaxConcurrent = 0;
        var slowStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        await using var slow = StartWorker(queue, async (body, ct) =>
        {
            Interlocked.Increment(ref slowCalls);
            int now = Interlocked.Increment(ref slowConcurrent);
            InterlockedMax(ref slowMaxConcurrent, now);
            slowStarted.TrySetResult();

            // Simulated work: two and a half expiry periods (1 s each) without replying.
            await Task.Delay(TimeSpan.FromMilliseconds(2500), ct);
            Interlocked.Decrement(ref slowConcurrent);
            return Message.FromStrings("slow:" + body.GetString(0));
        });
        await registered.WaitAsync(PirateTestKit.Wait);
        await using var slowClient = new TestClient(queue.FrontendEndpoint!, PirateTestKit.Wait, attempts: 1);
        var slowRequest = slowClient.RequestAsync("long");
        await slowStarted.Task.WaitAsync(PirateTestKit.Wait);
        await using var fast = StartWorker(queue, PirateTestKit.Echo);

        var ledger = new AnswerLedger();
        var requests = Enumerable.Range(0, 20).Select(i => $"r{i}").ToList();
        await ledger.SendFromClientsAsync(queue.FrontendEndpoint!, requests, clients: 4);

        (await slowRequest.WaitAsync(PirateTestKit.Wait)).Should().Be("slow:long");
        ledger.ShouldHaveExactlyOnce(requests);
        slowCalls.Should().Be(1, "the busy worker must not get any of the other requests");
        slowMaxConcurrent.Should().Be(1);
        expiredWorkers.Should().BeEmpty("heartbeats flow both ways while the worker is busy");
    }

    [Fact]
    public async Task RunAsync_QueueRestartedOnSamePort_WorkersComeBackByThemselves()
    {
        var first = StartQueue(out var firstRun);
        string frontend = first.FrontendEndpoint!, backend = first.BackendEndpoint!;
        var registered = PirateTestKit.Events(first, QueueEventKind.WorkerRegistered, 2);
        var workerA = new ParanoidPirateWorker(PirateTestKit.Echo, WorkerOptions(backend));
        var workerB = new ParanoidPirateWorker(PirateTestKit.Echo, WorkerOptions(backend));
        await using var runA = Running.Start(workerA.RunAsync);
        await using var runB = Running.Start(workerB.RunAsync);
        await registered.WaitAsync(PirateTestKit.Wait);
        (await PirateTestKit.RequestOnceAsync(frontend, "before")).Should().Be("before");

        await firstRun.StopAsync();
        await first.DisposeAsync();
        var second = new ParanoidPirateQueue(QueueOptions(frontend, backend));
        var comeBack = PirateTestKit.Events(second, QueueEventKind.WorkerRegistered, 2);
        second.Bind();
        await using var secondRun = Running.Start(second.RunAsync);

        await comeBack.WaitAsync(PirateTestKit.Wait);
        (await PirateTestKit.RequestOnceAsync(frontend, "after")).Should().Be("after");
        workerA.Sessions.Should().BeGreaterThan(1, "the worker noticed the silent queue and reconnected");
        workerB.Sessions.Should().BeGreaterThan(1);
        await secondRun.StopAsync();
        await second.DisposeAsync();
    }

    [Fact]
    public async Task RunAsync_GarbageFromWorkers_LoggedCountedIgnoredAndQueueKeepsServing()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        using var invalidCount = new CounterProbe("reliability.pirate.messages.invalid");
        var invalid = PirateTestKit.Events(queue, QueueEventKind.InvalidMessage, 5);
        await using var bad = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero, RoutingId = PirateTestKit.Bytes("bad") });
        bad.Connect(queue.BackendEndpoint!);
        await PirateTestKit.SendAsync(bad, Message.FromFrames(Heartbeat));
        await PirateTestKit.SendAsync(bad, Message.FromFrames([7]));
        await PirateTestKit.SendAsync(bad, new Message().AppendEmpty());
        await PirateTestKit.SendAsync(bad, Message.FromStrings("garbage", "without envelope"));
        await PirateTestKit.SendAsync(bad, Message.FromFrames(PirateTestKit.Bytes("client"), []));
        await PirateTestKit.SendAsync(bad, Message.FromFrames(Enumerable.Range(0, 50).Select(i => new byte[] { (byte)i, 0xFF }).ToArray()));
        await invalid.WaitAsync(PirateTestKit.Wait);

        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        await using var worker = StartWorker(queue, PirateTestKit.Echo);
        await registered.WaitAsync(PirateTestKit.Wait);

        (await PirateTestKit.RequestOnceAsync(queue.FrontendEndpoint!, "still serving")).Should().Be("still serving");
        queue.WorkerCount.Should().Be(1, "neither garbage nor a heartbeat before READY registers a worker");
        invalidCount.Total.Should().BeGreaterThanOrEqualTo(5);
    }

    [Fact]
    public async Task RunAsync_ReplyFromAReadyWorker_DroppedAndWorkerStaysUsable()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        await using var rogue = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero, RoutingId = PirateTestKit.Bytes("rogue") });
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        rogue.Connect(queue.BackendEndpoint!);
        await PirateTestKit.SendAsync(rogue, Message.FromFrames(Ready));
        await registered.WaitAsync(PirateTestKit.Wait);
        var dropped = PirateTestKit.NextEvent(queue, QueueEventKind.ReplyDropped);

        await PirateTestKit.SendAsync(rogue, Message.FromFrames(PirateTestKit.Bytes("nobody"), [], PirateTestKit.Bytes("unasked")));

        await dropped.WaitAsync(PirateTestKit.Wait);
        await using var client = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
        client.Connect(queue.FrontendEndpoint!);
        await PirateTestKit.SendAsync(client, Message.FromStrings("to rogue"));
        var request = await NextRequestAsync(rogue);
        await PirateTestKit.SendAsync(rogue, request);
        (await PirateTestKit.ReceiveAsync(client)).GetString(0).Should().Be("to rogue");
    }

    [Fact]
    public async Task RunAsync_ClientRequestWithoutDelimiter_IgnoredAndQueueKeepsServing()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        await using var worker = StartWorker(queue, PirateTestKit.Echo);
        await registered.WaitAsync(PirateTestKit.Wait);
        var invalid = PirateTestKit.NextEvent(queue, QueueEventKind.InvalidMessage);
        await using var bad = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        bad.Connect(queue.FrontendEndpoint!);

        await PirateTestKit.SendAsync(bad, Message.FromStrings("no delimiter"));

        await invalid.WaitAsync(PirateTestKit.Wait);
        (await PirateTestKit.RequestOnceAsync(queue.FrontendEndpoint!, "fine")).Should().Be("fine");
    }

    [Fact]
    public async Task ParanoidPirateWorker_HandlerThrows_SaysReadyAndQueueRequeuesTheRequest()
    {
        await using var queue = StartQueue(out var running, maxRequeues: 1);
        await using var _ = running;
        int calls = 0;
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);
        await using var worker = StartWorker(queue, (body, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("first attempt fails");
            }

            return ValueTask.FromResult(body);
        });
        await registered.WaitAsync(PirateTestKit.Wait);
        var requeued = PirateTestKit.NextEvent(queue, QueueEventKind.RequestRequeued);
        await using var client = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
        client.Connect(queue.FrontendEndpoint!);

        await PirateTestKit.SendAsync(client, Message.FromStrings("second time lucky"));

        await requeued.WaitAsync(PirateTestKit.Wait);
        (await PirateTestKit.ReceiveAsync(client)).GetString(0).Should().Be("second time lucky");
        calls.Should().Be(2);
    }

    [Fact]
    public async Task ParanoidPirateWorker_QueueGone_ReconnectsOnFreshSocketWithoutStaleMessages()
    {
        // A hand-driven queue: our ROUTER, which never heartbeats, so the worker declares it dead.
        var router = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        string endpoint = router.Bind(PirateTestKit.AnyPort);
        var sessions = new ConcurrentQueue<byte[]>();
        var secondSession = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var worker = new ParanoidPirateWorker(PirateTestKit.Echo, WorkerOptions(endpoint));
        worker.SessionStarted += id =>
        {
            sessions.Enqueue(id.ToArray());
            if (sessions.Count == 2)
            {
                secondSession.TrySetResult();
            }
        };
        await using var run = Running.Start(worker.RunAsync);
        var ready = await PirateTestKit.ReceiveAsync(router);
        ready[1].ToArray().Should().Equal(Ready);
        var firstIdentity = ready[0].ToArray();

        // Queue gone: the old socket keeps queuing heartbeats until the worker gives up on it and
        // opens a second one. Only then does a queue come back on the same port.
        await router.DisposeAsync();
        await secondSession.Task.WaitAsync(PirateTestKit.Wait);
        await using var again = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        again.Bind(endpoint);

        // Every connection that reaches the new queue starts with READY, and the first one never appears.
        var seen = new Dictionary<string, int>();
        for (int i = 0; i < 6; i++)
        {
            var message = await PirateTestKit.ReceiveAsync(again);
            message[0].ToArray().Should().NotEqual(firstIdentity, "the dead session's queued heartbeats must not be flushed");
            string id = Convert.ToHexString(message[0].Span);
            if (!seen.TryGetValue(id, out int count))
            {
                message[1].ToArray().Should().Equal(Ready, "a fresh connection announces itself first");
            }

            seen[id] = count + 1;
        }

        sessions.Count.Should().BeGreaterThan(1);
        sessions.First().Should().Equal(firstIdentity);
    }

    [Fact]
    public async Task ParanoidPirateWorker_ConnectionReset_StartsAfreshWithoutWaitingOutItsLiveness()
    {
        // Liveness 30 s x 3: within the test's wait only the lost connection can start a second session.
        var router = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        string endpoint = router.Bind(PirateTestKit.AnyPort);
        var secondSession = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int sessions = 0;
        var worker = new ParanoidPirateWorker(PirateTestKit.Echo, new ParanoidPirateWorkerOptions
        {
            Endpoint = endpoint,
            Heartbeat = PirateTestKit.FastHeartbeat with { Interval = TimeSpan.FromSeconds(30), Liveness = 3 },
        });
        worker.SessionStarted += _ =>
        {
            if (Interlocked.Increment(ref sessions) == 2)
            {
                secondSession.TrySetResult();
            }
        };
        await using var run = Running.Start(worker.RunAsync);
        (await PirateTestKit.ReceiveAsync(router))[1].ToArray().Should().Equal(Ready);

        await router.DisposeAsync();
        await using var again = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        again.Bind(endpoint);

        await secondSession.Task.WaitAsync(PirateTestKit.Wait);
        (await PirateTestKit.ReceiveAsync(again))[1].ToArray().Should().Equal(Ready, "the fresh session registers at once");
    }

    [Fact]
    public async Task ParanoidPirateWorker_StartedLongBeforeItsQueue_JoinsOnItsFirstConnection()
    {
        // Nothing listens on the port yet; the worker's clock is manual so "long before" costs nothing.
        string endpoint;
        await using (var probe = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero }))
        {
            endpoint = probe.Bind(PirateTestKit.AnyPort);
        }

        var clock = new Reliability.Testing.ManualTimeProvider();
        var firstSession = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var worker = new ParanoidPirateWorker(PirateTestKit.Echo, WorkerOptions(endpoint), null, clock);
        worker.SessionStarted += id => firstSession.TrySetResult(id.ToArray());
        await using var run = Running.Start(worker.RunAsync);
        var identity = await firstSession.Task.WaitAsync(PirateTestKit.Wait);
        for (int i = 0; i < 20; i++)
        {
            clock.Advance(PirateTestKit.FastHeartbeat.ExpiryTimeout / 2);
        }

        worker.Sessions.Should().Be(1, "a queue that was never reached cannot have died");
        await using var router = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        router.Bind(endpoint);

        // The transport's reconnect timer runs on the manual clock too: advance it until READY arrives.
        Message? ready = null;
        for (int i = 0; i < 50 && ready is null; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(200));
            ready = await PirateTestKit.TryReceiveAsync(router, TimeSpan.FromMilliseconds(100));
        }

        ready.Should().NotBeNull();
        ready![0].ToArray().Should().Equal(identity, "the first session's READY was waiting in its pipe");
        ready[1].ToArray().Should().Equal(Ready);
        worker.Sessions.Should().Be(1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ParanoidPirateWorker_OwnLoopPausedLongerThanExpiry_KeepsAQueueThatAnswersAndDropsASilentOne(bool queueAnswers)
    {
        var router = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        await using var _ = router;
        string endpoint = router.Bind(PirateTestKit.AnyPort);
        var clock = new Reliability.Testing.ManualTimeProvider();
        var worker = new ParanoidPirateWorker(PirateTestKit.Echo, WorkerOptions(endpoint), null, clock);
        await using var run = Running.Start(worker.RunAsync);
        var id = (await PirateTestKit.ReceiveAsync(router))[0].ToArray();

        // A reply proves the worker's loop is running with its liveness clock started.
        await PirateTestKit.SendAsync(router, Message.FromFrames(id, PirateTestKit.Bytes("c"), [], PirateTestKit.Bytes("warm-up")));
        (await NextReplyAtQueueAsync(router)).GetString(3).Should().Be("warm-up");

        // The worker's process "pauses" for ten expiry periods: the clock jumps, nothing ran meanwhile.
        clock.Stall(PirateTestKit.FastHeartbeat.ExpiryTimeout * 10);
        var heartbeat = await PirateTestKit.ReceiveAsync(router);
        heartbeat[1].ToArray().Should().Equal(Heartbeat, "the deferred pass still heartbeats the queue instead of giving up on it");

        if (queueAnswers)
        {
            await PirateTestKit.SendAsync(router, Message.FromFrames(id, PirateTestKit.Bytes("c"), [], PirateTestKit.Bytes("after pause")));
            (await NextReplyAtQueueAsync(router)).GetString(3).Should().Be("after pause");
            clock.Advance(PirateTestKit.FastHeartbeat.Interval);
            worker.Sessions.Should().Be(1, "the queue answered right after the pause; the pause was the worker's own");
            return;
        }

        // A queue that stays silent is given up one interval later, and the worker starts afresh.
        Message? ready = null;
        for (int i = 0; i < 50 && ready is null; i++)
        {
            clock.Advance(PirateTestKit.FastHeartbeat.Interval);
            var next = await PirateTestKit.TryReceiveAsync(router, TimeSpan.FromMilliseconds(100));
            ready = next is not null && !next[0].Span.SequenceEqual(id) ? next : null;
        }

        ready.Should().NotBeNull("a silent queue must still be declared dead after the deferral");
        ready![1].ToArray().Should().Equal(Ready);
        worker.Sessions.Should().Be(2);
    }

    [Fact]
    public async Task ParanoidPirateWorker_HandlerBusyForManyIntervals_OnlyHeartbeatsUntilTheReply()
    {
        var router = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        await using var _ = router;
        string endpoint = router.Bind(PirateTestKit.AnyPort);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new InMemoryLog();
        var worker = new ParanoidPirateWorker(
            async (body, ct) =>
            {
                await release.Task.WaitAsync(ct);
                return body;
            },
            WorkerOptions(endpoint),
            log);
        await using var run = Running.Start(worker.RunAsync);
        var ready = await PirateTestKit.ReceiveAsync(router);
        var id = ready[0].ToArray();
        await PirateTestKit.SendAsync(router, Message.FromFrames(id, PirateTestKit.Bytes("client"), [], PirateTestKit.Bytes("work")));

        // Fifteen heartbeats (1.5 s, past the 1 s expiry) from the busy worker,
        // each answered with ours so it keeps trusting the queue.
        for (int heartbeats = 0; heartbeats < 15; heartbeats++)
        {
            var message = await PirateTestKit.TryReceiveAsync(router, PirateTestKit.Wait);
            message.Should().NotBeNull(log.ToString());
            message![1].ToArray().Should().Equal(Heartbeat, "nothing but heartbeats while the handler is busy");
            await PirateTestKit.SendAsync(router, Message.FromFrames(id, Heartbeat));
        }

        release.SetResult();
        Message reply;
        do
        {
            reply = await PirateTestKit.ReceiveAsync(router);
        }
        while (reply.Count == 2);

        reply.Select(PirateTestKit.Text).Skip(1).Should().Equal("client", "", "work");
        worker.Sessions.Should().Be(1, "the worker never took the queue for dead: " + log);
    }

    [Fact]
    public async Task ParanoidPirateWorker_GarbageFromQueue_IgnoredAndKeepsServing()
    {
        var router = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero });
        await using var _ = router;
        string endpoint = router.Bind(PirateTestKit.AnyPort);
        var worker = new ParanoidPirateWorker(PirateTestKit.Echo, WorkerOptions(endpoint));
        await using var run = Running.Start(worker.RunAsync);
        var id = (await PirateTestKit.ReceiveAsync(router))[0].ToArray();

        await PirateTestKit.SendAsync(router, Message.FromFrames(id, [9]));
        await PirateTestKit.SendAsync(router, Message.FromFrames(id, PirateTestKit.Bytes("no"), PirateTestKit.Bytes("envelope")));
        await PirateTestKit.SendAsync(router, Message.FromFrames(id, PirateTestKit.Bytes("client"), [], PirateTestKit.Bytes("echo")));

        Message reply;
        do
        {
            reply = await PirateTestKit.ReceiveAsync(router);
        }
        while (reply.Count == 2);

        reply.Select(PirateTestKit.Text).Skip(1).Should().Equal("client", "", "echo");
    }

    private static ParanoidPirateQueueOptions QueueOptions(string frontend = PirateTestKit.AnyPort, string backend = PirateTestKit.AnyPort, int maxRequeues = 1) => new()
    {
        FrontendEndpoint = frontend,
        BackendEndpoint = backend,
        Heartbeat = PirateTestKit.FastHeartbeat,
        MaxRequeues = maxRequeues,
    };

    private static ParanoidPirateWorkerOptions WorkerOptions(string endpoint) => new()
    {
        Endpoint = endpoint,
        Heartbeat = PirateTestKit.FastHeartbeat,
    };

    private static ParanoidPirateQueue StartQueue(out Running running, int maxRequeues = 1, InMemoryLog? log = null, Action<WorkerExpiredArguments>? onWorkerExpired = null)
    {
        var queue = new ParanoidPirateQueue(QueueOptions(maxRequeues: maxRequeues) with { OnWorkerExpired = onWorkerExpired }, log);
        queue.Bind();
        running = Running.Start(queue.RunAsync);
        return queue;
    }

    private static Running StartWorker(ParanoidPirateQueue queue, Func<Message, CancellationToken, ValueTask<Message>> handler, InMemoryLog? log = null)
    {
        var worker = new ParanoidPirateWorker(handler, WorkerOptions(queue.BackendEndpoint!), log);
        return Running.Start(worker.RunAsync);
    }

    /// <summary>
    /// Next reply on a hand-driven queue ROUTER, skipping the worker's heartbeats and READYs, which are
    /// two frames there (routing id, command): a worker may heartbeat again before it replies.
    /// </summary>
    private static async Task<Message> NextReplyAtQueueAsync(RouterSocket queue)
    {
        // Bounded: each receive waits at most PirateTestKit.Wait.
        for (int i = 0; i < 1000; i++)
        {
            var message = await PirateTestKit.ReceiveAsync(queue);
            if (message.Count > 2)
            {
                return message;
            }
        }

        throw new TimeoutException("no reply among 1000 commands");
    }

    /// <summary>Next multi-frame message on a hand-driven worker socket, skipping the queue's heartbeats.</summary>
    private static async Task<Message> NextRequestAsync(ZmqSocket worker)
    {
        // Bounded: each receive waits at most PirateTestKit.Wait, and heartbeats arrive every 50 ms.
        for (int i = 0; i < 1000; i++)
        {
            var message = await PirateTestKit.ReceiveAsync(worker);
            if (message.Count > 1)
            {
                return message;
            }
        }

        throw new TimeoutException("no request among 1000 heartbeats");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        do
        {
            current = Volatile.Read(ref target);
            if (value <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref target, value, current) != current);
    }
}

/// <summary>Sums a counter of the <c>Reliability.Patterns</c> meter while alive (other tests may add to it too, so assert lower bounds).</summary>
internal sealed class CounterProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CounterProbe(string instrument)
    {
        _listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == "Reliability.Patterns" && i.Name == instrument)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
