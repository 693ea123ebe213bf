using Reliability.Patterns.LazyPirate;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.LazyPirate;

/// <summary>The client over loopback TCP against our own REP and ROUTER servers.</summary>
public sealed class LazyPirateLoopbackTests
{
    private static readonly SocketOptions ServerOptions = new() { Linger = TimeSpan.Zero };

    [Fact]
    public async Task RequestAsync_RepServerDropsFirstRequest_RetriesAndGetsAnswer()
    {
        var clock = new ManualTimeProvider();
        await using var server = new ReplySocket(ServerOptions);
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint] }, timeProvider: clock);

        var pending = client.RequestAsync(Message.FromStrings("req-1"));
        var dropped = await ReceiveAsync(server);
        dropped.GetString(0).Should().Be("req-1");
        clock.Advance(client.Options.RequestTimeout);

        // A REP must answer before it can take the next request; this answer goes to the abandoned socket.
        await server.SendAsync(Message.FromStrings("late answer"));
        var retried = await ReceiveAsync(server);
        retried.GetString(0).Should().Be("req-1");
        await server.SendAsync(Message.FromStrings("req-1", "answered"));

        var reply = await pending.Within();
        reply.Select(f => System.Text.Encoding.UTF8.GetString(f.Span)).Should().Equal("req-1", "answered");
        client.Statistics.Retries.Should().Be(1);
        client.Statistics.SocketsOpened.Should().Be(2);
    }

    [Fact]
    public async Task RequestAsync_ServerGone_AbandonsAfterAttemptsWithRequestFailed()
    {
        string endpoint;
        await using (var gone = new ReplySocket(ServerOptions))
        {
            endpoint = gone.Bind("tcp://127.0.0.1:0");
        }

        var options = new LazyPirateOptions { Endpoints = [endpoint], RequestTimeout = TimeSpan.FromMilliseconds(100), Attempts = 3 };
        await using var client = new LazyPirateClient(options);

        var failure = (await client.Awaiting(c => c.RequestAsync(Message.FromStrings("anyone?")).Within())
            .Should().ThrowAsync<RequestFailedException>()).Which;

        failure.Attempts.Should().Be(3);
        failure.Endpoints.Should().Equal(endpoint);
        client.Statistics.Should().Be(new LazyPirateStatistics(Requests: 1, Succeeded: 0, Retries: 2, Abandoned: 1, Cancelled: 0, SocketsOpened: 3));
    }

    [Fact]
    public async Task RequestAsync_LateReplyToFirstAttempt_IsNeverReturnedForTheRetryOrNextRequest()
    {
        var clock = new ManualTimeProvider();
        await using var server = new RouterSocket(ServerOptions);
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint] }, timeProvider: clock);

        var pending = client.RequestAsync(Message.FromStrings("question"));
        var first = await ReceiveAsync(server);
        clock.Advance(client.Options.RequestTimeout);
        var second = await ReceiveAsync(server);

        second[0].ToArray().Should().NotEqual(first[0].ToArray(), "the retry comes from a fresh socket");
        second.GetString(2).Should().Be("question");

        // Answer the first attempt late, then the retry: only the retry's answer may come back.
        await server.SendAsync(new Message([first[0], ReadOnlyMemory<byte>.Empty]).Append("answer to attempt 1"));
        await server.SendAsync(new Message([second[0], ReadOnlyMemory<byte>.Empty]).Append("answer to attempt 2"));
        (await pending.Within()).GetString(0).Should().Be("answer to attempt 2");

        // The answered socket is reused, and still sees only its own request's answer.
        var next = client.RequestAsync(Message.FromStrings("follow-up"));
        var third = await ReceiveAsync(server);
        third[0].ToArray().Should().Equal(second[0].ToArray());
        await server.SendAsync(new Message([first[0], ReadOnlyMemory<byte>.Empty]).Append("another stale answer"));
        await server.SendAsync(new Message([third[0], ReadOnlyMemory<byte>.Empty]).Append("answer to follow-up"));
        (await next.Within()).GetString(0).Should().Be("answer to follow-up");
    }

    [Fact]
    public async Task RequestAsync_HealthyServer_AnswersEveryRequestOnOneSocket()
    {
        await using var server = new ReplySocket(ServerOptions);
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        using var stop = new CancellationTokenSource();
        var echo = EchoAsync(server, stop.Token);
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint], RequestTimeout = TimeSpan.FromSeconds(5) });

        for (int i = 0; i < 50; i++)
        {
            (await client.RequestAsync(Message.FromStrings($"request {i}")).Within()).GetString(0).Should().Be($"request {i}");
        }

        client.Statistics.Should().Be(new LazyPirateStatistics(Requests: 50, Succeeded: 50, Retries: 0, Abandoned: 0, Cancelled: 0, SocketsOpened: 1));
        await stop.CancelAsync();
        await echo.Within();
    }

    [Fact]
    public async Task RequestAsync_FirstOfTwoEndpointsDead_RetryReachesTheLiveOne()
    {
        string dead;
        await using (var gone = new ReplySocket(ServerOptions))
        {
            dead = gone.Bind("tcp://127.0.0.1:0");
        }

        await using var server = new ReplySocket(ServerOptions);
        string live = server.Bind("tcp://127.0.0.1:0");
        using var stop = new CancellationTokenSource();
        var echo = EchoAsync(server, stop.Token);
        var options = new LazyPirateOptions { Endpoints = [dead, live], RequestTimeout = TimeSpan.FromMilliseconds(300) };
        await using var client = new LazyPirateClient(options);

        (await client.RequestAsync(Message.FromStrings("fail over")).Within()).GetString(0).Should().Be("fail over");

        client.Statistics.Retries.Should().BeGreaterThanOrEqualTo(1, "the first socket sends to the first endpoint, which is dead");
        await stop.CancelAsync();
        await echo.Within();
    }

    [Fact]
    public async Task RequestAsync_CancelledWhileServerSilent_ThrowsAndNextRequestUsesFreshSocket()
    {
        await using var server = new RouterSocket(ServerOptions);
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint], RequestTimeout = TimeSpan.FromMinutes(1) });
        using var cancel = new CancellationTokenSource();

        var abandoned = client.RequestAsync(Message.FromStrings("abandon me"), cancel.Token);
        var first = await ReceiveAsync(server);
        await cancel.CancelAsync();
        await abandoned.Awaiting(a => a.Within()).Should().ThrowAsync<OperationCanceledException>();

        var next = client.RequestAsync(Message.FromStrings("next"));
        var second = await ReceiveAsync(server);
        second[0].ToArray().Should().NotEqual(first[0].ToArray());
        await server.SendAsync(new Message([first[0], ReadOnlyMemory<byte>.Empty]).Append("stale"));
        await server.SendAsync(new Message([second[0], ReadOnlyMemory<byte>.Empty]).Append("fresh"));
        (await next.Within()).GetString(0).Should().Be("fresh");
    }

    [Fact]
    public async Task RequestAsync_ConcurrentCallersAgainstRouterEcho_EachGetsItsOwnReply()
    {
        await using var server = new RouterSocket(ServerOptions);
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        using var stop = new CancellationTokenSource();
        var echo = Task.Run(
            async () =>
            {
                try
                {
                    while (true)
                    {
                        // [routing id, "", body]: sent back as it came, so the reply names its request.
                        await server.SendAsync(await server.ReceiveAsync(stop.Token), stop.Token);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            },
            CancellationToken.None);
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint], RequestTimeout = TimeSpan.FromSeconds(5) });

        const int Callers = 8;
        const int Each = 50;
        var callers = Enumerable.Range(0, Callers).Select(c => Task.Run(async () =>
        {
            for (int i = 0; i < Each; i++)
            {
                string body = $"caller {c} request {i}";
                (await client.RequestAsync(Message.FromStrings(body))).GetString(0).Should().Be(body);
            }
        }));
        await Task.WhenAll(callers).Within();

        var counts = client.Statistics;
        counts.Succeeded.Should().Be(Callers * Each);
        counts.Retries.Should().Be(0);
        counts.SocketsOpened.Should().BeInRange(1, Callers, "an answered socket is reused, and no more run at once than there are callers");
        await stop.CancelAsync();
        await echo.Within();
    }

    private static async Task<Message> ReceiveAsync(ZmqSocket socket) =>
        await socket.TryReceiveAsync(Limits.Long) ?? throw new TimeoutException($"no message on the {socket.Type} server within {Limits.Long}");

    private static Task EchoAsync(ReplySocket server, CancellationToken stop) => Task.Run(
        async () =>
    {
        try
        {
            while (true)
            {
                var request = await server.ReceiveAsync(stop);
                await server.SendAsync(request, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    },
        CancellationToken.None);
}
