using System.Collections.Concurrent;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.SimplePirate;
using Reliability.Patterns.Tests.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.SimplePirate;

[Collection(PirateLoopbackCollection.Name)]
public sealed class SimplePirateIntegrationTests
{
    [Fact]
    public async Task RunAsync_SeveralWorkersAndClients_EveryRequestAnsweredExactlyOnce()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        var answeredBy = new ConcurrentDictionary<string, int>();
        var workers = new List<Running>();
        for (int w = 0; w < 3; w++)
        {
            workers.Add(StartWorker(queue, Tagging(answeredBy)));
        }

        var ledger = new AnswerLedger();
        var requests = Enumerable.Range(0, 20).SelectMany(i => Enumerable.Range(0, 4).Select(c => $"c{c}-r{i}")).ToList();
        await ledger.SendFromClientsAsync(queue.FrontendEndpoint!, requests, clients: 4);

        ledger.ShouldHaveExactlyOnce(requests);
        answeredBy.Values.Sum().Should().Be(requests.Count);
        await Task.WhenAll(workers.Select(w => w.StopAsync()));
    }

    [Fact]
    public async Task RunAsync_RequestBeforeAnyWorker_AnsweredWhenAWorkerArrives()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        await using var client = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
        client.Connect(queue.FrontendEndpoint!);
        await PirateTestKit.SendAsync(client, Message.FromStrings("early"));

        // No worker yet: the queue must leave the request in the client's pipe, not drop it.
        var registered = WorkerRegistered(queue);
        await using var worker = StartWorker(queue, PirateTestKit.Echo);
        await registered.WaitAsync(PirateTestKit.Wait);

        var reply = await PirateTestKit.ReceiveAsync(client);
        reply.GetString(0).Should().Be("early");
    }

    [Fact]
    public async Task RunAsync_SlowWorker_FastWorkersKeepServing()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        var slowCalls = 0;
        await using var slow = StartWorker(queue, async (body, ct) =>
        {
            Interlocked.Increment(ref slowCalls);
            await Task.Delay(TimeSpan.FromMilliseconds(300), ct);
            return body;
        });
        await using var fast1 = StartWorker(queue, PirateTestKit.Echo);
        await using var fast2 = StartWorker(queue, PirateTestKit.Echo);

        var ledger = new AnswerLedger();
        var requests = Enumerable.Range(0, 30).Select(i => $"r{i}").ToList();
        await ledger.SendFromClientsAsync(queue.FrontendEndpoint!, requests, clients: 3);

        ledger.ShouldHaveExactlyOnce(requests);
        slowCalls.Should().BeLessThan(10, "the LRU list keeps handing work to whoever is free");
    }

    [Fact]
    public async Task RunAsync_WorkerKilledMidRequest_ClientRetryAnsweredByAnotherWorker()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        var gotRequest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registered = WorkerRegistered(queue);
        var doomed = StartWorker(queue, async (body, ct) =>
        {
            gotRequest.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return body;
        });
        await registered.WaitAsync(PirateTestKit.Wait);

        await using var client = new TestClient(queue.FrontendEndpoint!, TimeSpan.FromMilliseconds(500));
        var request = client.RequestAsync("survivor");
        await gotRequest.Task.WaitAsync(PirateTestKit.Wait);
        await doomed.DisposeAsync();
        await using var healthy = StartWorker(queue, (body, _) => ValueTask.FromResult(Message.FromStrings("healthy:" + body.GetString(0))));

        (await request.WaitAsync(PirateTestKit.Wait)).Should().Be("healthy:survivor");
        client.Retries.Should().BeGreaterThan(0, "the killed worker's request is only recovered by the client's retry");
    }

    [Fact]
    public async Task RunAsync_GarbageFromAWorker_IgnoredAndQueueKeepsServing()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        await using (var bad = new DealerSocket(new SocketOptions { Linger = TimeSpan.FromSeconds(1) }))
        {
            bad.Connect(queue.BackendEndpoint!);
            await PirateTestKit.SendAsync(bad, Message.FromFrames([1]));
            await PirateTestKit.SendAsync(bad, Message.FromFrames([], [7]));
            await PirateTestKit.SendAsync(bad, Message.FromStrings("junk", "more junk"));
            await PirateTestKit.SendAsync(bad, Message.FromFrames([], [1], [2]));
        }

        var registered = WorkerRegistered(queue);
        await using var worker = StartWorker(queue, PirateTestKit.Echo);
        await registered.WaitAsync(PirateTestKit.Wait);
        await using var client = new TestClient(queue.FrontendEndpoint!, PirateTestKit.Wait, attempts: 1);

        (await client.RequestAsync("still serving")).Should().Be("still serving");
        queue.WorkerCount.Should().Be(1, "none of the garbage registered a worker");
    }

    [Fact]
    public async Task RunAsync_ClientRequestWithoutDelimiter_IgnoredAndQueueKeepsServing()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        var registered = WorkerRegistered(queue);
        await using var worker = StartWorker(queue, PirateTestKit.Echo);
        await registered.WaitAsync(PirateTestKit.Wait);
        await using var bad = new DealerSocket(new SocketOptions { Linger = TimeSpan.FromSeconds(1) });
        bad.Connect(queue.FrontendEndpoint!);
        await PirateTestKit.SendAsync(bad, Message.FromStrings("no delimiter"));

        await using var client = new TestClient(queue.FrontendEndpoint!, PirateTestKit.Wait, attempts: 1);

        (await client.RequestAsync("fine")).Should().Be("fine");
        (await PirateTestKit.TryReceiveAsync(bad, TimeSpan.FromMilliseconds(200))).Should().BeNull();
    }

    [Fact]
    public async Task SimplePirateWorker_HandlerThrows_ReconnectsAndServesNextRequest()
    {
        await using var queue = StartQueue(out var running);
        await using var _ = running;
        int calls = 0;
        await using var worker = StartWorker(queue, (body, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("first request fails");
            }

            return ValueTask.FromResult(body);
        });
        await using var client = new TestClient(queue.FrontendEndpoint!, TimeSpan.FromMilliseconds(500));

        (await client.RequestAsync("retry me")).Should().Be("retry me");
        client.Retries.Should().Be(1);
    }

    private static SimplePirateQueue StartQueue(out Running running)
    {
        var queue = new SimplePirateQueue(new SimplePirateQueueOptions { FrontendEndpoint = PirateTestKit.AnyPort, BackendEndpoint = PirateTestKit.AnyPort });
        queue.Bind();
        running = Running.Start(queue.RunAsync);
        return queue;
    }

    private static Running StartWorker(SimplePirateQueue queue, Func<Message, CancellationToken, ValueTask<Message>> handler)
    {
        var worker = new SimplePirateWorker(handler, new SimplePirateWorkerOptions { Endpoint = queue.BackendEndpoint! });
        return Running.Start(worker.RunAsync);
    }

    private static Task<RoutingKey> WorkerRegistered(SimplePirateQueue queue)
    {
        var seen = new TaskCompletionSource<RoutingKey>(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<RoutingKey>? handler = null;
        handler = key =>
        {
            seen.TrySetResult(key);
            queue.WorkerRegistered -= handler;
        };
        queue.WorkerRegistered += handler;
        return seen.Task;
    }

    private static Func<Message, CancellationToken, ValueTask<Message>> Tagging(ConcurrentDictionary<string, int> counts)
    {
        string me = Guid.NewGuid().ToString("N");
        return (body, _) =>
        {
            counts.AddOrUpdate(me, 1, (_, n) => n + 1);
            return ValueTask.FromResult(body);
        };
    }
}
