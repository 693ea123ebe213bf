using System.Text;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Tests.Worker;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Client;

/// <summary>The synchronous client against a scripted mini broker over loopback TCP.</summary>
public sealed class MajordomoClientTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    private static MajordomoClientOptions Options(MiniBroker broker, MdpVersion version = MdpVersion.V01, MdpClientSocket socket = MdpClientSocket.Req) => new()
    {
        BrokerEndpoint = broker.Endpoint,
        Version = version,
        SocketType = socket,
        Timeout = Wait.Long,
    };

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Validate_Mdp02OverReq_RejectedWithReason()
    {
        var act = () => new MajordomoClientOptions { BrokerEndpoint = "tcp://127.0.0.1:5555", Version = MdpVersion.V02 }.Validate();

        act.Should().Throw<ArgumentException>().WithMessage("*DEALER*");
    }

    [Fact]
    public void Validate_BadValues_AllReportedTogether()
    {
        var act = () => new MajordomoClientOptions { Timeout = TimeSpan.Zero, Retries = -1, Socket = new SocketOptions { RequestRelaxed = true } }.Validate();

        act.Should().Throw<ArgumentException>().Which.Message.Should()
            .Contain("BrokerEndpoint").And.Contain("Timeout").And.Contain("Retries").And.Contain("RequestRelaxed");
    }

    [Theory]
    [InlineData(MdpClientSocket.Req)]
    [InlineData(MdpClientSocket.Dealer)]
    public async Task RequestAsync_Mdp01_ReturnsTheReplyBody(MdpClientSocket socket)
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoClient(Options(broker, socket: socket));

        var pending = client.RequestAsync("echo", Message.FromStrings("hello", "world"));
        var request = await broker.ExpectAsync<ClientRequest>();
        request.Command.Should().Be(new ClientRequest("echo", Utf8("hello"), Utf8("world")));
        request.Version.Should().Be(MdpVersion.V01);
        await broker.SendToClientAsync(request.Sender, new ClientReply("echo", Utf8("hi"), Utf8("there")));

        var reply = await pending.Within();
        reply.Service.Should().Be("echo");
        reply.Body.Select(f => Encoding.UTF8.GetString(f.Span)).Should().Equal("hi", "there");
        reply.Partials.Should().BeEmpty();
        client.Statistics.Should().Be(new MajordomoClientStatistics(1, 1, 0, 0, 0, 1, 0));
    }

    [Fact]
    public async Task RequestAsync_Mdp02_CollectsPartialsThenFinal()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoClient(Options(broker, MdpVersion.V02, MdpClientSocket.Dealer));

        var pending = client.RequestAsync("work", Message.FromStrings("job"));
        var request = await broker.ExpectAsync<ClientRequest>();
        request.Version.Should().Be(MdpVersion.V02);
        await broker.SendToClientAsync(request.Sender, new ClientPartial("work", Utf8("1/2")), MdpVersion.V02);
        await broker.SendToClientAsync(request.Sender, new ClientPartial("work", Utf8("2/2")), MdpVersion.V02);
        await broker.SendToClientAsync(request.Sender, new ClientFinal("work", Utf8("done")), MdpVersion.V02);

        var reply = await pending.Within();
        reply.Body.GetString(0).Should().Be("done");
        reply.Partials.Select(p => p.GetString(0)).Should().Equal("1/2", "2/2");
        reply.Version.Should().Be(MdpVersion.V02);
    }

    [Fact]
    public async Task RequestAsync_FirstAttemptUnanswered_ResendsOnFreshSocketAndSucceeds()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoClient(Options(broker) with { Timeout = Short, Retries = 2 });

        var pending = client.RequestAsync("echo", Message.FromStrings("once"));
        var first = await broker.ExpectAsync<ClientRequest>();
        var second = await broker.ExpectAsync<ClientRequest>();
        second.Sender.Should().NotBe(first.Sender, "the timed-out socket is replaced");
        await broker.SendToClientAsync(first.Sender, new ClientReply("echo", Utf8("late, to the closed socket")));
        await broker.SendToClientAsync(second.Sender, new ClientReply("echo", Utf8("answer")));

        var reply = await pending.Within();
        reply.Body.GetString(0).Should().Be("answer");
        client.Statistics.Retries.Should().Be(1);
        client.Statistics.SocketsOpened.Should().Be(2);
    }

    [Fact]
    public async Task RequestAsync_NeverAnswered_AbandonedAfterEveryAttemptWithClearException()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoClient(Options(broker) with { Timeout = TimeSpan.FromMilliseconds(100), Retries = 2 });

        var act = () => client.RequestAsync("nobody", Message.FromStrings("hello?"));

        var failure = (await act.Should().ThrowAsync<MdpRequestFailedException>().Within()).Which;
        failure.Attempts.Should().Be(3);
        failure.Service.Should().Be("nobody");
        failure.Message.Should().Contain("nobody").And.Contain("3 attempt(s)").And.Contain("100 ms");
        client.Statistics.Abandoned.Should().Be(1);
        client.Statistics.Retries.Should().Be(2);
        var senders = new HashSet<Patterns.Heartbeating.RoutingKey>();
        for (int i = 0; i < 3; i++)
        {
            senders.Add((await broker.ExpectAsync<ClientRequest>()).Sender);
        }

        senders.Should().HaveCount(3);
    }

    [Fact]
    public async Task RequestAsync_ReqGetsReplyFromOtherService_FailsAsInvalidWithoutRetry()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoClient(Options(broker) with { Retries = 3 });

        var pending = client.RequestAsync("echo", Message.FromStrings("x"));
        var request = await broker.ExpectAsync<ClientRequest>();
        await broker.SendToClientAsync(request.Sender, new ClientReply("other", Utf8("x")));

        var failure = (await ((Func<Task>)(() => pending)).Should().ThrowAsync<MdpRequestFailedException>().Within()).Which;
        failure.Message.Should().Contain("not valid").And.Contain("other");
        client.Statistics.InvalidReplies.Should().Be(1);
        client.Statistics.Retries.Should().Be(0);
    }

    [Fact]
    public async Task RequestAsync_DealerGetsStrayMessage_SkipsItAndTakesTheReply()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoClient(Options(broker, socket: MdpClientSocket.Dealer));

        var pending = client.RequestAsync("echo", Message.FromStrings("x"));
        var request = await broker.ExpectAsync<ClientRequest>();
        await broker.SendRawAsync(new Message().Append(request.Sender.Memory).AppendEmpty().Append("garbage"));
        await broker.SendToClientAsync(request.Sender, new ClientReply("other", Utf8("wrong service")));
        await broker.SendToClientAsync(request.Sender, new ClientReply("echo", Utf8("right")));

        (await pending.Within()).Body.GetString(0).Should().Be("right");
        client.Statistics.InvalidReplies.Should().Be(2);
    }

    [Fact]
    public async Task RequestAsync_CallerCancels_ThrowsOperationCanceled()
    {
        await using var broker = MiniBroker.Start();
        await using var client = new MajordomoClient(Options(broker));
        using var cancel = new CancellationTokenSource();

        var pending = client.RequestAsync("echo", Message.FromStrings("x"), cancel.Token);
        await broker.ExpectAsync<ClientRequest>();
        await cancel.CancelAsync();

        await ((Func<Task>)(() => pending)).Should().ThrowAsync<OperationCanceledException>().Within();
        client.Statistics.Cancelled.Should().Be(1);
    }

    [Fact]
    public async Task DisposeAsync_RequestInFlight_EndsItWithObjectDisposed()
    {
        await using var broker = MiniBroker.Start();
        var client = new MajordomoClient(Options(broker));

        var pending = client.RequestAsync("echo", Message.FromStrings("x"));
        await broker.ExpectAsync<ClientRequest>();
        await client.DisposeAsync().AsTask().Within();

        await ((Func<Task>)(() => pending)).Should().ThrowAsync<ObjectDisposedException>().Within();
    }

    [Fact]
    public async Task DisposeAsync_RequestWaitingForItsTurn_EndsItWithObjectDisposed()
    {
        await using var broker = MiniBroker.Start();
        var client = new MajordomoClient(Options(broker));

        var first = client.RequestAsync("echo", Message.FromStrings("1"));
        await broker.ExpectAsync<ClientRequest>();
        var second = client.RequestAsync("echo", Message.FromStrings("2"));
        await client.DisposeAsync().AsTask().Within();

        await ((Func<Task>)(() => first)).Should().ThrowAsync<ObjectDisposedException>().Within();
        await ((Func<Task>)(() => second)).Should().ThrowAsync<ObjectDisposedException>().Within();
        client.Statistics.Requests.Should().Be(1, "the second request never got its turn");
    }

    [Fact]
    public async Task QueryServiceAsync_RegisteredAndUnknownService_200And404()
    {
        await using var broker = MiniBroker.Start(relay: true);
        await using var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = broker.Endpoint, Service = "echo" });
        worker.Start();
        await broker.ExpectAsync<WorkerReady>();
        await using var client = new MajordomoClient(Options(broker));

        (await client.QueryServiceAsync("echo").Within()).Should().Be(Mmi.Found);
        (await client.QueryServiceAsync("nope").Within()).Should().Be(Mmi.NotFound);
    }
}
