using System.Text;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Tests.Worker;
using Reliability.Mdp.Worker;
using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Client;

/// <summary>The asynchronous client against a scripted mini broker over loopback TCP.</summary>
public sealed class MajordomoAsyncClientTests
{
    private static MajordomoAsyncClientOptions Options(MiniBroker broker, int maxConnections = 64, MdpVersion version = MdpVersion.V01) => new()
    {
        BrokerEndpoint = broker.Endpoint,
        MaxConnections = maxConnections,
        Version = version,
        Timeout = Wait.Long,
    };

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(BrokerInbound inbound) => Encoding.UTF8.GetString(((ClientRequest)inbound.Command!).Body[0].Span);

    [Fact]
    public void Validate_BadValues_AllReportedTogether()
    {
        var act = () => new MajordomoAsyncClientOptions { Timeout = TimeSpan.Zero, MaxConnections = 0 }.Validate();

        act.Should().Throw<ArgumentException>().Which.Message.Should()
            .Contain("BrokerEndpoint").And.Contain("Timeout").And.Contain("MaxConnections");
    }

    [Fact]
    public async Task RequestAsync_ManyOutstandingRepliesInReverseOrder_EachCompletedByItsOwnReply()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker, maxConnections: 10));

        var pending = Enumerable.Range(0, 10).Select(i => client.RequestAsync("echo", Message.FromStrings($"r{i}"))).ToList();
        var received = new List<BrokerInbound>();
        for (int i = 0; i < 10; i++)
        {
            received.Add(await broker.ExpectAsync<ClientRequest>());
        }

        received.Select(r => r.Sender).Distinct().Should().HaveCount(10, "one request per service per connection");
        foreach (var request in Enumerable.Reverse(received))
        {
            await broker.SendToClientAsync(request.Sender, new ClientReply("echo", Utf8("re " + Text(request))));
        }

        var replies = await Task.WhenAll(pending).Within();
        replies.Select(r => r.Body.GetString(0)).Should().Equal(Enumerable.Range(0, 10).Select(i => $"re r{i}"));
        client.Statistics.Succeeded.Should().Be(10);
    }

    [Fact]
    public async Task RequestAsync_DifferentServices_ShareOneConnectionAndMatchByService()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker, maxConnections: 1));

        var a = client.RequestAsync("alpha", Message.FromStrings("a"));
        var b = client.RequestAsync("beta", Message.FromStrings("b"));
        var first = await broker.ExpectAsync<ClientRequest>();
        var second = await broker.ExpectAsync<ClientRequest>();
        first.Sender.Should().Be(second.Sender);

        await broker.SendToClientAsync(first.Sender, new ClientReply("beta", Utf8("for b")));
        await broker.SendToClientAsync(first.Sender, new ClientReply("alpha", Utf8("for a")));

        (await a.Within()).Body.GetString(0).Should().Be("for a");
        (await b.Within()).Body.GetString(0).Should().Be("for b");
    }

    [Fact]
    public async Task RequestAsync_MoreThanMaxConnectionsForOneService_WaitInCallOrder()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker, maxConnections: 1));

        var pending = Enumerable.Range(0, 3).Select(i => client.RequestAsync("echo", Message.FromStrings($"q{i}"))).ToList();
        for (int i = 0; i < 3; i++)
        {
            var request = await broker.ExpectAsync<ClientRequest>();
            Text(request).Should().Be($"q{i}", "the next waiting request goes out when the connection is free");
            pending.Skip(i).Should().OnlyContain(t => !t.IsCompleted);
            await broker.SendToClientAsync(request.Sender, new ClientReply("echo", Utf8(Text(request))));
            (await pending[i].Within()).Body.GetString(0).Should().Be($"q{i}");
        }
    }

    [Fact]
    public async Task RequestAsync_ReplyArrivesAfterTimeout_CountedLateAndNeverGivenToALaterRequest()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker, maxConnections: 2));

        // One connection carries a slow "echo" request and a "other" request that stays in flight.
        var slow = client.RequestAsync("echo", Message.FromStrings("slow"), TimeSpan.FromMilliseconds(150));
        var other = client.RequestAsync("other", Message.FromStrings("keeps the connection open"));
        var slowRequest = await broker.ExpectAsync<ClientRequest>();
        var otherRequest = await broker.ExpectAsync<ClientRequest>();
        otherRequest.Sender.Should().Be(slowRequest.Sender);
        var timedOut = (await ((Func<Task>)(() => slow)).Should().ThrowAsync<MdpRequestFailedException>().Within()).Which;
        timedOut.Attempts.Should().Be(1);

        var next = client.RequestAsync("echo", Message.FromStrings("next"));
        var nextRequest = await broker.ExpectAsync<ClientRequest>();
        nextRequest.Sender.Should().NotBe(slowRequest.Sender, "a connection with a timed-out request takes no new requests");
        await broker.SendToClientAsync(slowRequest.Sender, new ClientReply("echo", Utf8("late reply to slow")));
        await broker.SendToClientAsync(otherRequest.Sender, new ClientReply("other", Utf8("other done")));
        await broker.SendToClientAsync(nextRequest.Sender, new ClientReply("echo", Utf8("reply to next")));

        (await other.Within()).Body.GetString(0).Should().Be("other done");
        (await next.Within()).Body.GetString(0).Should().Be("reply to next");
        client.Statistics.LateReplies.Should().Be(1);
        client.Statistics.TimedOut.Should().Be(1);
    }

    [Fact]
    public async Task RequestAsync_TimesOutWhileWaitingForAConnection_FailsWithoutBeingSent()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker, maxConnections: 1));
        var first = client.RequestAsync("echo", Message.FromStrings("first"));
        var firstRequest = await broker.ExpectAsync<ClientRequest>();

        var waiting = client.RequestAsync("echo", Message.FromStrings("waiting"), TimeSpan.FromMilliseconds(100));

        var failure = (await ((Func<Task>)(() => waiting)).Should().ThrowAsync<MdpRequestFailedException>().Within()).Which;
        failure.Attempts.Should().Be(0);
        failure.Message.Should().Contain("never sent");
        await broker.SendToClientAsync(firstRequest.Sender, new ClientReply("echo", Utf8("first")));
        (await first.Within()).Body.GetString(0).Should().Be("first");
        (await broker.TryNextAsync(TimeSpan.FromMilliseconds(200))).Should().BeNull("the timed-out request must not go out later");
    }

    [Fact]
    public async Task RequestAsync_ManualClock_FailsExactlyWhenItsOwnTimeoutElapses()
    {
        await using var broker = MiniBroker.Start();
        var clock = new Reliability.Testing.ManualTimeProvider();
        await using var client = new MajordomoAsyncClient(Options(broker), timeProvider: clock);

        var shortOne = client.RequestAsync("echo", Message.FromStrings("short"), TimeSpan.FromSeconds(1));
        var longOne = client.RequestAsync("other", Message.FromStrings("long"), TimeSpan.FromSeconds(5));
        clock.Advance(TimeSpan.FromMilliseconds(999));
        shortOne.IsCompleted.Should().BeFalse();

        clock.Advance(TimeSpan.FromMilliseconds(1));
        var failure = (await ((Func<Task>)(() => shortOne)).Should().ThrowAsync<MdpRequestFailedException>().Within()).Which;
        failure.Message.Should().Contain("1000 ms");
        longOne.IsCompleted.Should().BeFalse();

        clock.Advance(TimeSpan.FromSeconds(4));
        await ((Func<Task>)(() => longOne)).Should().ThrowAsync<MdpRequestFailedException>().Within();
        client.Statistics.TimedOut.Should().Be(2);
    }

    [Fact]
    public async Task RequestAsync_Mdp02_PartialsCollectedBeforeFinal()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker, version: MdpVersion.V02));

        var pending = client.RequestAsync("work", Message.FromStrings("job"));
        var request = await broker.ExpectAsync<ClientRequest>();
        request.Version.Should().Be(MdpVersion.V02);
        await broker.SendToClientAsync(request.Sender, new ClientPartial("work", Utf8("half")), MdpVersion.V02);
        await broker.SendToClientAsync(request.Sender, new ClientFinal("work", Utf8("all")), MdpVersion.V02);

        var reply = await pending.Within();
        reply.Body.GetString(0).Should().Be("all");
        reply.Partials.Select(p => p.GetString(0)).Should().Equal("half");
    }

    [Fact]
    public async Task RequestAsync_WrongVersionOrUnknownService_CountedInvalidAndIgnored()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker));

        var pending = client.RequestAsync("echo", Message.FromStrings("x"));
        var request = await broker.ExpectAsync<ClientRequest>();
        await broker.SendToClientAsync(request.Sender, new ClientFinal("echo", Utf8("0.2 reply")), MdpVersion.V02);
        await broker.SendToClientAsync(request.Sender, new ClientReply("stranger", Utf8("no such request")));
        await broker.SendToClientAsync(request.Sender, new ClientReply("echo", Utf8("good")));

        (await pending.Within()).Body.GetString(0).Should().Be("good");
        client.Statistics.InvalidReplies.Should().Be(2);
    }

    [Fact]
    public async Task RequestAsync_CallerCancels_TaskCancelled()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoAsyncClient(Options(broker));
        using var cancel = new CancellationTokenSource();

        var pending = client.RequestAsync("echo", Message.FromStrings("x"), cancel.Token);
        await broker.ExpectAsync<ClientRequest>();
        await cancel.CancelAsync();

        await ((Func<Task>)(() => pending)).Should().ThrowAsync<OperationCanceledException>().Within();
        client.Statistics.Cancelled.Should().Be(1);
    }

    [Fact]
    public async Task DisposeAsync_RequestsInFlight_FailWithObjectDisposed()
    {
        await using var broker = MiniBroker.Start();
        var client = new MajordomoAsyncClient(Options(broker, maxConnections: 1));
        var sent = client.RequestAsync("echo", Message.FromStrings("sent"));
        var queued = client.RequestAsync("echo", Message.FromStrings("queued"));
        await broker.ExpectAsync<ClientRequest>();

        await client.DisposeAsync().AsTask().Within();

        await ((Func<Task>)(() => sent)).Should().ThrowAsync<ObjectDisposedException>().Within();
        await ((Func<Task>)(() => queued)).Should().ThrowAsync<ObjectDisposedException>().Within();
        Action after = () => client.RequestAsync("echo", Message.FromStrings("after"));
        after.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public async Task BrokerRestart_RequestsInFlightTimeOut_LaterRequestsSucceed()
    {
        var broker = MiniBroker.Start(relay: true);
        string endpoint = broker.Endpoint;
        using var stop = new CancellationTokenSource();
        var worker = new MajordomoWorker(new WorkerOptions
        {
            BrokerEndpoint = endpoint,
            Service = "echo",
            Heartbeat = TimeSpan.FromMilliseconds(50),
            // Generous: the restart is noticed through DISCONNECT, and a loaded host must not fake silence.
            Liveness = 40,
            ReconnectDelay = TimeSpan.FromMilliseconds(50),
            ReconnectDelayMax = TimeSpan.FromMilliseconds(50),
        });
        var serving = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token);
        await using var client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, Timeout = TimeSpan.FromMilliseconds(300) });
        (await client.RequestAsync("echo", Message.FromStrings("before"), Wait.Long).Within()).Body.GetString(0).Should().Be("before");

        await broker.DisposeAsync();
        var during = client.RequestAsync("echo", Message.FromStrings("during"));
        await ((Func<Task>)(() => during)).Should().ThrowAsync<MdpRequestFailedException>().Within();

        await using var restarted = MiniBroker.Start(relay: true, bind: endpoint);
        await restarted.ExpectAsync<WorkerReady>();
        var after = await client.RequestAsync("echo", Message.FromStrings("after"), Wait.Long).Within();

        after.Body.GetString(0).Should().Be("after");
        await stop.CancelAsync();
        await serving.Within();
    }
}
