using System.Globalization;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Tests.Worker;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Client;

/// <summary>Our workers and clients through the real <see cref="MajordomoBroker"/> on loopback, MDP/0.1 and 0.2 mixed.</summary>
public sealed class BrokerIntegrationTests
{
    // Short intervals with generous liveness: a loaded 2-core host can stall a process for half a second.
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(200);

    private static BrokerOptions BrokerOptions(string bind = "tcp://127.0.0.1:0") => new()
    {
        Endpoints = [bind],
        HeartbeatInterval = Heartbeat,
        Liveness = 10,
        ShutdownTimeout = TimeSpan.FromMilliseconds(500),
    };

    private static WorkerOptions WorkerOptions(string endpoint, MdpVersion version, string service = "echo") => new()
    {
        BrokerEndpoint = endpoint,
        Service = service,
        Version = version,
        Heartbeat = Heartbeat,
        Liveness = 10,
        ReconnectDelay = Heartbeat,
        ReconnectDelayMax = Heartbeat,

        // Our broker heartbeats busy workers too.
        BrokerHeartbeatsBusyWorkers = true,
    };

    [Theory]
    [InlineData(MdpVersion.V01)]
    [InlineData(MdpVersion.V02)]
    public async Task HandlerThatThrows_EveryClientKindFailsAtOnce_WithHandlerFailed_AndNothingIsRunAgain(MdpVersion version)
    {
        using var stop = new CancellationTokenSource();
        await using var broker = new MajordomoBroker(BrokerOptions());
        string endpoint = broker.Bind()[0];
        var running = broker.RunAsync(stop.Token);
        int runs = 0;
        var worker = new MajordomoWorker(WorkerOptions(endpoint, version));
        var serving = worker.RunAsync(
            (request, _) =>
            {
                Interlocked.Increment(ref runs);
                return request.Body.GetString(0) == "poison" ? throw new FormatException("bad") : ValueTask.FromResult(request.Body);
            },
            stop.Token);
        var socketType = version == MdpVersion.V01 ? MdpClientSocket.Req : MdpClientSocket.Dealer;
        await using var sync = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Version = version, SocketType = socketType, Timeout = Wait.Long, Retries = 3 });
        await using var asynchronous = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, Version = version, Timeout = Wait.Long });

        // Retries are allowed, yet a handler failure is an answer: one run each, no redelivery.
        var syncFailure = await FluentActions.Awaiting(() => sync.RequestAsync("echo", Message.FromStrings("poison"))).Should().ThrowAsync<MdpRequestFailedException>();
        syncFailure.Which.Failure.Should().Be(MdpFailure.HandlerFailed);
        syncFailure.Which.Attempts.Should().Be(1);
        syncFailure.Which.Message.Should().Contain("FormatException");
        var asyncFailure = await FluentActions.Awaiting(() => asynchronous.RequestAsync("echo", Message.FromStrings("poison"))).Should().ThrowAsync<MdpRequestFailedException>();
        asyncFailure.Which.Failure.Should().Be(MdpFailure.HandlerFailed);
        (await sync.RequestAsync("echo", Message.FromStrings("fine"))).Body.GetString(0).Should().Be("fine");
        Volatile.Read(ref runs).Should().Be(3);
        worker.Statistics.HandlerFailures.Should().Be(2);

        await stop.CancelAsync();
        await serving.Within();
        await running.Within();
    }

    [Fact]
    public async Task MixedVersions_WorkersAndAllClientKinds_EveryRequestGetsItsOwnEcho()
    {
        using var stop = new CancellationTokenSource();
        await using var broker = new MajordomoBroker(BrokerOptions());
        string endpoint = broker.Bind()[0];
        var running = broker.RunAsync(stop.Token);
        var worker01 = new MajordomoWorker(WorkerOptions(endpoint, MdpVersion.V01));
        var worker02 = new MajordomoWorker(WorkerOptions(endpoint, MdpVersion.V02));
        var serving = new[]
        {
            worker01.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token),
            worker02.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token),
        };
        await using var req01 = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = Wait.Long, Retries = 0 });
        await using var dealer02 = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Version = MdpVersion.V02, SocketType = MdpClientSocket.Dealer, Timeout = Wait.Long, Retries = 0 });
        await using var async01 = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, Timeout = Wait.Long, MaxConnections = 8 });
        await using var async02 = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, Version = MdpVersion.V02, Timeout = Wait.Long, MaxConnections = 8 });

        var asyncRequests = new List<(string Body, Task<MdpReply> Reply)>();
        for (int i = 0; i < 50; i++)
        {
            string a = string.Create(CultureInfo.InvariantCulture, $"async01-{i}");
            string b = string.Create(CultureInfo.InvariantCulture, $"async02-{i}");
            asyncRequests.Add((a, async01.RequestAsync("echo", Message.FromStrings(a))));
            asyncRequests.Add((b, async02.RequestAsync("echo", Message.FromStrings(b))));
        }

        for (int i = 0; i < 10; i++)
        {
            string a = string.Create(CultureInfo.InvariantCulture, $"req01-{i}");
            string b = string.Create(CultureInfo.InvariantCulture, $"dealer02-{i}");
            (await req01.RequestAsync("echo", Message.FromStrings(a)).Within()).Body.GetString(0).Should().Be(a);
            var reply02 = await dealer02.RequestAsync("echo", Message.FromStrings(b)).Within();
            reply02.Body.GetString(0).Should().Be(b);
            reply02.Version.Should().Be(MdpVersion.V02);
        }

        await Task.WhenAll(asyncRequests.Select(r => r.Reply)).Within();
        foreach (var (body, reply) in asyncRequests)
        {
            (await reply).Body.GetString(0).Should().Be(body);
        }

        (await req01.QueryServiceAsync("echo").Within()).Should().Be(Mmi.Found);
        await stop.CancelAsync();
        await Task.WhenAll(serving).Within();
        await running.Within();
    }

    [Fact]
    public async Task UnsafeInlineOptions_ClientLoopsAndInlineHandler_EveryRequestAnsweredOnTheIoThread()
    {
        using var stop = new CancellationTokenSource();
        await using var broker = new MajordomoBroker(BrokerOptions());
        string endpoint = broker.Bind()[0];
        var running = broker.RunAsync(stop.Token);
        int handlerInline = 0;
        var worker = new MajordomoWorker(WorkerOptions(endpoint, MdpVersion.V01) with { UnsafeInlineHandler = true });
        var serving = Task.Run(() => worker.RunAsync(
            (request, _) =>
            {
                if (new System.Diagnostics.StackTrace().ToString().Contains("DeliverInbound", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref handlerInline);
                }

                return ValueTask.FromResult(request.Body);
            },
            stop.Token));
        await using var client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions
        {
            BrokerEndpoint = endpoint,
            Timeout = Wait.Long,
            MaxConnections = 4,
            UnsafeInlineCompletions = true,
        });

        // Four loops, each sending its next request from the continuation of the previous one.
        int continuationsInline = 0;
        async Task LoopAsync(int loop)
        {
            for (int i = 0; i < 25; i++)
            {
                string body = string.Create(CultureInfo.InvariantCulture, $"{loop}-{i}");
                var reply = await client.RequestAsync("echo", Message.FromStrings(body));
                if (new System.Diagnostics.StackTrace().ToString().Contains("DeliverInbound", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref continuationsInline);
                }

                reply.Body.GetString(0).Should().Be(body);
            }
        }

        // Off the test runner's synchronization context, which would take every continuation back
        // to itself and hide where it runs.
        await Task.Run(() => Task.WhenAll(Enumerable.Range(0, 4).Select(LoopAsync))).Within();

        handlerInline.Should().BeGreaterThan(0, "the handler runs where the request was delivered");
        continuationsInline.Should().BeGreaterThan(0, "the caller resumes where the reply was delivered");
        await stop.CancelAsync();
        await Task.WhenAll(running, serving).Within();
    }

    [Fact]
    public async Task Mdp02PartialReplies_ThroughBroker_ArriveBeforeTheFinal()
    {
        using var stop = new CancellationTokenSource();
        await using var broker = new MajordomoBroker(BrokerOptions());
        string endpoint = broker.Bind()[0];
        var running = broker.RunAsync(stop.Token);
        var worker = new MajordomoWorker(WorkerOptions(endpoint, MdpVersion.V02, "progress"));
        var serving = worker.RunAsync(
            async (request, ct) =>
            {
                await request.SendPartialAsync(Message.FromStrings("started"), ct);
                await request.SendPartialAsync(Message.FromStrings("halfway"), ct);
                return Message.FromStrings("done: " + request.Body.GetString(0));
            },
            stop.Token);
        await using var client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, Version = MdpVersion.V02, Timeout = Wait.Long });

        var reply = await client.RequestAsync("progress", Message.FromStrings("job")).Within();

        reply.Partials.Select(p => p.GetString(0)).Should().Equal("started", "halfway");
        reply.Body.GetString(0).Should().Be("done: job");
        await stop.CancelAsync();
        await serving.Within();
        await running.Within();
    }

    [Fact]
    public async Task BrokerRestart_SameEndpoint_WorkerReRegistersAndClientRecovers()
    {
        using var stopWorker = new CancellationTokenSource();
        string endpoint;
        Task serving;
        await using (var first = new MajordomoBroker(BrokerOptions()))
        {
            endpoint = first.Bind()[0];
            using var stopFirst = new CancellationTokenSource();
            var running = first.RunAsync(stopFirst.Token);
            var worker = new MajordomoWorker(WorkerOptions(endpoint, MdpVersion.V01));
            serving = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stopWorker.Token);
            await using var before = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = Wait.Long, Retries = 0 });
            (await before.RequestAsync("echo", Message.FromStrings("before")).Within()).Body.GetString(0).Should().Be("before");

            // A graceful stop sends DISCONNECT to the worker, which then waits for a broker on a fresh socket.
            await stopFirst.CancelAsync();
            await running.Within();
        }

        using var stopSecond = new CancellationTokenSource();
        await using var second = new MajordomoBroker(BrokerOptions(endpoint));
        var runningAgain = second.RunAsync(stopSecond.Token);
        await using var after = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = TimeSpan.FromSeconds(1), Retries = 6 });

        (await after.RequestAsync("echo", Message.FromStrings("after")).Within()).Body.GetString(0).Should().Be("after");
        await stopWorker.CancelAsync();
        await serving.Within();
        await stopSecond.CancelAsync();
        await runningAgain.Within();
    }
}
