using System.Globalization;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Tests.Worker;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Client;

/// <summary>Our worker and clients (MDP/0.1) served by a minimal pyzmq broker on libzmq 4.3.4.</summary>
public sealed class PyZmqBrokerInteropTests
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(100);

    // Both sides: 1 s of silence before giving up on the peer, headroom for a loaded 2-core host.
    private const int Liveness = 10;

    private static MajordomoWorker Worker(string endpoint) => new(new WorkerOptions
    {
        BrokerEndpoint = endpoint,
        Service = "echo",
        Heartbeat = Heartbeat,
        Liveness = Liveness,
        ReconnectDelay = Heartbeat,
        ReconnectDelayMax = Heartbeat,
    });

    [MdpPyZmqFact]
    public async Task WorkerAndSyncClient_PyZmqBroker_EchoesEveryRequestAndMmiAnswers()
    {
        await using var broker = await PyZmqMdpBroker.StartAsync("tcp://127.0.0.1:0", Heartbeat, Liveness);
        using var stop = new CancellationTokenSource();
        var worker = Worker(broker.Endpoint);
        var serving = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token);
        await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = Wait.Long, Retries = 0 });

        for (int i = 0; i < 20; i++)
        {
            string body = string.Create(CultureInfo.InvariantCulture, $"interop {i}");
            var reply = await client.RequestAsync("echo", Message.FromStrings(body, "second frame")).Within();
            reply.Body.Select(f => System.Text.Encoding.UTF8.GetString(f.Span)).Should().Equal(body, "second frame");
        }

        (await client.QueryServiceAsync("echo").Within()).Should().Be(Mmi.Found);
        (await client.QueryServiceAsync("missing").Within()).Should().Be(Mmi.NotFound);
        await stop.CancelAsync();
        await serving.Within();
    }

    [MdpPyZmqFact]
    public async Task AsyncClient_PyZmqBrokerTwoWorkersRepliesOutOfOrder_EachRequestGetsItsOwnReply()
    {
        await using var broker = await PyZmqMdpBroker.StartAsync("tcp://127.0.0.1:0", Heartbeat, Liveness);
        using var stop = new CancellationTokenSource();

        // Once the burst starts, the "slow" worker holds its first request until the other worker has
        // answered five, so replies come back in a different order than the requests went out.
        var fastServedFive = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int burst = 0;
        int fastServed = 0;
        int slowServed = 0;
        var slow = Worker(broker.Endpoint);
        var fast = Worker(broker.Endpoint);
        var slowServing = slow.RunAsync(
            async (request, ct) =>
            {
                if (Volatile.Read(ref burst) == 1 && Interlocked.Increment(ref slowServed) == 1)
                {
                    await fastServedFive.Task.WaitAsync(ct);
                }

                return request.Body;
            },
            stop.Token);
        var fastServing = fast.RunAsync(
            (request, _) =>
            {
                if (Volatile.Read(ref burst) == 1 && Interlocked.Increment(ref fastServed) == 5)
                {
                    fastServedFive.TrySetResult();
                }

                return ValueTask.FromResult(request.Body);
            },
            stop.Token);
        await using var client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = Wait.Long, MaxConnections = 8 });

        // Both workers must be registered before the burst, or one alone serves it: probe until each has
        // served a request (LRU dispatch alternates once both are there). Bounded.
        await using var probe = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = Wait.Long, Retries = 0 });
        for (int i = 0; i < 50 && (slow.Statistics.RepliesSent == 0 || fast.Statistics.RepliesSent == 0); i++)
        {
            await probe.RequestAsync("echo", Message.FromStrings("warm-up")).Within();
        }

        Volatile.Write(ref burst, 1);
        var pending = Enumerable.Range(0, 40).Select(i => (Body: $"r{i}", Task: client.RequestAsync("echo", Message.FromStrings($"r{i}")))).ToList();
        await Task.WhenAll(pending.Select(p => p.Task)).Within();

        foreach (var (body, task) in pending)
        {
            (await task).Body.GetString(0).Should().Be(body);
        }

        slowServed.Should().BeGreaterThan(0, "both workers took part");
        await stop.CancelAsync();
        await Task.WhenAll(slowServing, fastServing).Within();
    }

    [MdpPyZmqFact]
    public async Task Worker_PyZmqBrokerRestartsOnSamePort_ReRegistersAndServes()
    {
        string endpoint;
        using var stop = new CancellationTokenSource();
        Task serving;
        await using (var first = await PyZmqMdpBroker.StartAsync("tcp://127.0.0.1:0", Heartbeat, Liveness))
        {
            endpoint = first.Endpoint;
            var worker = Worker(endpoint);
            serving = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token);
            await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = Wait.Long, Retries = 0 });
            (await client.RequestAsync("echo", Message.FromStrings("before")).Within()).Body.GetString(0).Should().Be("before");
        }

        await using var second = await PyZmqMdpBroker.StartAsync(endpoint, Heartbeat, Liveness);
        await using var after = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = TimeSpan.FromSeconds(1), Retries = 6 });

        // The worker's heartbeat reaches the new broker, which answers DISCONNECT (unknown worker), or the
        // worker finds the broker silent first; either way it registers again and the request is served.
        (await after.RequestAsync("echo", Message.FromStrings("after")).Within()).Body.GetString(0).Should().Be("after");
        await stop.CancelAsync();
        await serving.Within();
    }
}
