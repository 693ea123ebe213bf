using System.Text;
using Reliability.Patterns;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Worker;

/// <summary>The worker against a scripted mini broker over loopback TCP, with short heartbeat intervals.</summary>
public sealed class MajordomoWorkerTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(50);
    private static readonly ReadOnlyMemory<byte> ClientAddress = new byte[] { 0, 1, 2, 3, 4 };

    private static WorkerOptions Options(MiniBroker broker, MdpVersion version = MdpVersion.V01, TimeSpan? heartbeat = null) => new()
    {
        BrokerEndpoint = broker.Endpoint,
        Service = "echo",
        Version = version,
        Heartbeat = heartbeat ?? TimeSpan.FromSeconds(5),
        ReconnectDelay = Fast,
        ReconnectDelayMax = Fast,
    };

    private static Message Body(string text) => Message.FromStrings(text);

    [Theory]
    [InlineData(MdpVersion.V01)]
    [InlineData(MdpVersion.V02)]
    public async Task Start_Connects_SendsReadyForItsServiceInItsVersion(MdpVersion version)
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker, version));

        worker.Start();

        var ready = await broker.NextAsync();
        ready.Command.Should().Be(new WorkerReady("echo"));
        ready.Version.Should().Be(version);
    }

    [Fact]
    public async Task RunAsync_Request_ReplyCarriesClientAddressAndHandlerBody()
    {
        await using var broker = MiniBroker.Start();
        var worker = new MajordomoWorker(Options(broker));
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync((request, _) => ValueTask.FromResult(Message.FromStrings("re: " + request.Body.GetString(0), "second")), stop.Token);
        var ready = await broker.ExpectAsync<WorkerReady>();

        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("hello")));

        var reply = await broker.ExpectAsync<WorkerReply>();
        reply.Sender.Should().Be(ready.Sender);
        var command = (WorkerReply)reply.Command!;
        command.ClientAddress.ToArray().Should().Equal(ClientAddress.ToArray());
        command.Body.Select(f => Encoding.UTF8.GetString(f.Span)).Should().Equal("re: hello", "second");
        worker.Statistics.RepliesSent.Should().Be(1);

        await stop.CancelAsync();
        await running.Within();
    }

    [Fact]
    public async Task ReceiveAsync_Mdp02_PartialsThenFinalInOrder()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker, MdpVersion.V02));
        var receiving = worker.ReceiveAsync().AsTask();
        var ready = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("job")), MdpVersion.V02);
        var request = await receiving.Within();

        (await request.SendPartialAsync(Body("25%"))).Should().BeTrue();
        (await request.SendPartialAsync(Body("50%"))).Should().BeTrue();
        (await request.ReplyAsync(Body("done"))).Should().BeTrue();

        var first = await broker.ExpectAsync(m => m.Command is WorkerPartial or WorkerFinal);
        var second = await broker.ExpectAsync(m => m.Command is WorkerPartial or WorkerFinal);
        var third = await broker.ExpectAsync(m => m.Command is WorkerPartial or WorkerFinal);
        first.Command.Should().Be(new WorkerPartial(ClientAddress, Body("25%")));
        second.Command.Should().Be(new WorkerPartial(ClientAddress, Body("50%")));
        third.Command.Should().Be(new WorkerFinal(ClientAddress, Body("done")));
        third.Version.Should().Be(MdpVersion.V02);
    }

    [Fact]
    public async Task SendPartialAsync_Mdp01_NotSupported()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker));
        var receiving = worker.ReceiveAsync().AsTask();
        var ready = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("x")));
        var request = await receiving.Within();

        var partial = async () => await request.SendPartialAsync(Body("p"));

        await partial.Should().ThrowAsync<NotSupportedException>();
    }

    [Fact]
    public async Task ReplyAsync_Twice_SecondThrows()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker));
        var receiving = worker.ReceiveAsync().AsTask();
        var ready = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("x")));
        var request = await receiving.Within();
        await request.ReplyAsync(Body("one"));

        var again = async () => await request.ReplyAsync(Body("two"));

        await again.Should().ThrowAsync<InvalidOperationException>();
    }

    [Fact]
    public async Task Idle_BrokerQuietButAlive_WorkerSendsHeartbeatsEveryInterval()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker, heartbeat: Fast) with { Liveness = 100 });
        worker.Start();
        var ready = await broker.ExpectAsync<WorkerReady>();

        var first = await broker.ExpectAsync<WorkerHeartbeat>();
        var second = await broker.ExpectAsync<WorkerHeartbeat>();

        first.Sender.Should().Be(ready.Sender);
        second.Sender.Should().Be(ready.Sender);
    }

    [Fact]
    public async Task BusyHandler_LongRequest_HeartbeatsContinueFromTheWorkerLoop()
    {
        await using var broker = MiniBroker.Start();
        var worker = new MajordomoWorker(Options(broker, heartbeat: Fast) with { Liveness = 100 });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(
            async (request, ct) =>
            {
                started.TrySetResult();
                await release.Task.WaitAsync(ct);
                return request.Body;
            },
            stop.Token);
        var ready = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("slow")));
        await started.Task.Within();

        // Three heartbeats while the handler is blocked.
        for (int i = 0; i < 3; i++)
        {
            await broker.ExpectAsync<WorkerHeartbeat>();
        }

        release.SetResult();
        var reply = await broker.ExpectAsync<WorkerReply>();
        reply.Command.Should().Be(new WorkerReply(ClientAddress, Body("slow")));
        await stop.CancelAsync();
        await running.Within();
    }

    [Fact]
    public async Task BrokerSilent_IntervalTimesLiveness_ReconnectsOnFreshSocketAndSendsReadyAgain()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker, heartbeat: Fast));
        worker.Start();
        var first = await broker.ExpectAsync<WorkerReady>();

        var second = await broker.ExpectAsync<WorkerReady>();

        second.Sender.Should().NotBe(first.Sender, "a dead broker's socket is replaced, not reused");
        worker.Statistics.BrokerSilences.Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task BrokerDisconnect_AfterBrokerKnewUs_ReRegistersAtOnceOnFreshSocket()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker) with { ReconnectDelay = TimeSpan.FromMinutes(1), ReconnectDelayMax = TimeSpan.FromMinutes(1) });
        worker.Start();
        var first = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(first.Sender, WorkerHeartbeat.Instance);

        await broker.SendToWorkerAsync(first.Sender, WorkerDisconnect.Instance);

        var second = await broker.ExpectAsync<WorkerReady>();
        second.Sender.Should().NotBe(first.Sender);
        worker.Statistics.BrokerDisconnects.Should().Be(1);
    }

    [Fact]
    public async Task BrokerDisconnect_OnPeerLostToldWhyAndWhen()
    {
        await using var broker = MiniBroker.Start();
        var lost = new TaskCompletionSource<PeerLostArguments>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = new MajordomoWorker(Options(broker) with { OnPeerLost = e => lost.TrySetResult(e) });
        worker.Start();
        var first = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(first.Sender, WorkerHeartbeat.Instance);

        await broker.SendToWorkerAsync(first.Sender, WorkerDisconnect.Instance);

        var e = await lost.Task.WaitAsync(TimeSpan.FromSeconds(10));
        e.Endpoint.Should().Be(broker.Endpoint);
        e.Reason.Should().Be("disconnected");
        e.ReconnectIn.Should().Be(TimeSpan.Zero, "a broker that knew us is answered with a fresh READY at once");
    }

    [Fact]
    public async Task BrokerConnectionLost_ReRegistersWithoutWaitingForSilence()
    {
        // Heartbeat 30 s: within the test's wait only the lost connection can bring a second READY.
        var broker = MiniBroker.Start();
        string endpoint = broker.Endpoint;
        await using var worker = new MajordomoWorker(Options(broker, heartbeat: TimeSpan.FromSeconds(30)));
        worker.Start();
        var first = await broker.ExpectAsync<WorkerReady>();

        await broker.DisposeAsync();
        await using var restarted = MiniBroker.Start(bind: endpoint);

        var second = await restarted.ExpectAsync<WorkerReady>();
        second.Sender.Should().NotBe(first.Sender, "a fresh socket registers");
        worker.Statistics.BrokerSilences.Should().Be(0);
    }

    [Fact]
    public async Task BrokerRestart_SameEndpoint_WorkerReRegistersAndServes()
    {
        var broker = MiniBroker.Start(relay: true);
        string endpoint = broker.Endpoint;
        using var stop = new CancellationTokenSource();
        var worker = new MajordomoWorker(new WorkerOptions
        {
            BrokerEndpoint = endpoint,
            Service = "echo",
            Heartbeat = Fast,
            // Generous: the restart is noticed through DISCONNECT, and a loaded host must not fake silence.
            Liveness = 40,
            ReconnectDelay = Fast,
            ReconnectDelayMax = Fast,
        });
        var running = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token);
        await broker.ExpectAsync<WorkerReady>();
        await broker.DisposeAsync();

        await using var restarted = MiniBroker.Start(relay: true, bind: endpoint);

        // Either the old socket's heartbeat reaches the new broker (which answers DISCONNECT) or the
        // worker declares the old broker dead first; both end in a READY to the new broker.
        await restarted.ExpectAsync<WorkerReady>();
        await using var client = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
        client.Connect(endpoint);
        await client.SendAsync(MdpCodec.BuildFromClient(new ClientRequest("echo", Encoding.UTF8.GetBytes("after restart")), MdpVersion.V01, MdpClientSocket.Req));
        var reply = await client.ReceiveAsync().AsTask().Within();
        var parsed = MdpCodec.ParseAtClient(reply, MdpClientSocket.Req);
        parsed.Command.Should().Be(new ClientReply("echo", Encoding.UTF8.GetBytes("after restart")));

        await stop.CancelAsync();
        await running.Within();
    }

    [Fact]
    public async Task HandlerThrows_ByDefault_AnswersWithFailureReply_AndKeepsItsConnection()
    {
        await using var broker = MiniBroker.Start();
        var worker = new MajordomoWorker(Options(broker));
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(
            (request, _) => request.Body.GetString(0) == "poison" ? throw new InvalidOperationException("secret detail") : ValueTask.FromResult(request.Body),
            stop.Token);
        var ready = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("poison")));

        // Only the exception's type travels, never its message.
        var failure = await broker.ExpectAsync(m => m.Command is WorkerDisconnect or WorkerReply);
        failure.Command.Should().Be(new WorkerReply(ClientAddress, Message.FromStrings("reliability.handler-failed", "InvalidOperationException")));
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("fine")));
        var next = await broker.ExpectAsync<WorkerReply>();
        next.Sender.Should().Be(ready.Sender, "the worker stays on its connection");
        next.Command.Should().Be(new WorkerReply(ClientAddress, Body("fine")));
        worker.Statistics.HandlerFailures.Should().Be(1);
        worker.Statistics.Reconnects.Should().Be(0);

        await stop.CancelAsync();
        await running.Within();
    }

    [Fact]
    public async Task HandlerThrows_WithRequeue_SendsDisconnectThenRegistersAgain()
    {
        await using var broker = MiniBroker.Start();
        var worker = new MajordomoWorker(Options(broker) with { OnHandlerFailure = HandlerFailureAction.Requeue });
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(
            (request, _) => request.Body.GetString(0) == "poison" ? throw new InvalidOperationException("boom") : ValueTask.FromResult(request.Body),
            stop.Token);
        var first = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(first.Sender, new WorkerRequest(ClientAddress, Body("poison")));

        var disconnect = await broker.ExpectAsync(m => m.Command is WorkerDisconnect or WorkerReply);
        disconnect.Command.Should().BeOfType<WorkerDisconnect>();
        disconnect.Sender.Should().Be(first.Sender);
        var second = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(second.Sender, new WorkerRequest(ClientAddress, Body("fine")));
        (await broker.ExpectAsync<WorkerReply>()).Command.Should().Be(new WorkerReply(ClientAddress, Body("fine")));
        worker.Statistics.HandlerFailures.Should().Be(1);

        await stop.CancelAsync();
        await running.Within();
    }

    [Fact]
    public async Task ReplyAsync_ConnectionReplacedWhileBusy_ReplyDroppedNotSentOnNewSocket()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker));
        var receiving = worker.ReceiveAsync().AsTask();
        var first = await broker.ExpectAsync<WorkerReady>();
        await broker.SendToWorkerAsync(first.Sender, new WorkerRequest(ClientAddress, Body("x")));
        var request = await receiving.Within();

        await broker.SendToWorkerAsync(first.Sender, WorkerDisconnect.Instance);
        var second = await broker.ExpectAsync<WorkerReady>();
        bool sent = await request.ReplyAsync(Body("too late"));

        sent.Should().BeFalse();
        worker.Statistics.StaleReplies.Should().Be(1);
        (await broker.TryNextAsync(TimeSpan.FromMilliseconds(200)))?.Command.Should().NotBeOfType<WorkerReply>();
        second.Sender.Should().NotBe(first.Sender);
    }

    [Fact]
    public async Task InvalidMessage_FromBroker_DroppedAndWorkerKeepsServing()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker));
        var receiving = worker.ReceiveAsync().AsTask();
        var ready = await broker.ExpectAsync<WorkerReady>();

        await broker.SendRawAsync(new Message().Append(ready.Sender.Memory).AppendEmpty().Append("MDPW01").Append(new byte[] { 0x7F }));
        await broker.SendRawAsync(new Message().Append(ready.Sender.Memory).AppendEmpty().Append("MDPW02").Append(new byte[] { 0x05 }));
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("ok")));

        var request = await receiving.Within();
        request.Body.GetString(0).Should().Be("ok");
        worker.Statistics.InvalidMessages.Should().Be(2);
    }

    [Fact]
    public async Task DisposeAsync_Registered_SendsDisconnect()
    {
        await using var broker = MiniBroker.Start();
        var worker = new MajordomoWorker(Options(broker));
        worker.Start();
        var ready = await broker.ExpectAsync<WorkerReady>();

        await worker.DisposeAsync().AsTask().Within();

        var disconnect = await broker.ExpectAsync<WorkerDisconnect>();
        disconnect.Sender.Should().Be(ready.Sender);
        var receive = async () => await worker.ReceiveAsync();
        await receive.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task RunAsync_Cancelled_ReturnsAfterSendingDisconnect()
    {
        await using var broker = MiniBroker.Start();
        var worker = new MajordomoWorker(Options(broker));
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token);
        await broker.ExpectAsync<WorkerReady>();

        await stop.CancelAsync();

        await running.Within();
        await broker.ExpectAsync<WorkerDisconnect>();
    }

    [Fact]
    public async Task HeartbeatFromBroker_Counted()
    {
        await using var broker = MiniBroker.Start();
        await using var worker = new MajordomoWorker(Options(broker));
        var receiving = worker.ReceiveAsync().AsTask();
        var ready = await broker.ExpectAsync<WorkerReady>();

        await broker.SendToWorkerAsync(ready.Sender, WorkerHeartbeat.Instance);
        await broker.SendToWorkerAsync(ready.Sender, new WorkerRequest(ClientAddress, Body("after heartbeat")));
        await receiving.Within();

        worker.Statistics.HeartbeatsReceived.Should().Be(1);
        worker.Statistics.RequestsReceived.Should().Be(1);
    }
}
