using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Transport.Tests.Sockets;

public sealed class QueueAndLifecycleTests
{
    [Fact]
    public async Task TrySend_DealerWithoutPeerAtHighWaterMark_ReturnsFalse()
    {
        await using var dealer = new DealerSocket(new SocketOptions { SendHighWaterMark = 2, Linger = TimeSpan.Zero });
        dealer.Connect("tcp://127.0.0.1:1");

        (await dealer.TrySendAsync(Message.FromStrings("1"), TimeSpan.Zero)).Should().BeTrue();
        (await dealer.TrySendAsync(Message.FromStrings("2"), TimeSpan.Zero)).Should().BeTrue();
        (await dealer.TrySendAsync(Message.FromStrings("3"), TimeSpan.Zero)).Should().BeFalse();
    }

    [Fact]
    public async Task Send_DealerWithNoPeerAndSendTimeout_ThrowsTimeout()
    {
        await using var dealer = new DealerSocket(new SocketOptions { SendTimeout = TimeSpan.FromMilliseconds(50) });

        var send = async () => await dealer.SendAsync(Message.FromStrings("nowhere"));

        await send.Should().ThrowAsync<TimeoutException>();
    }

    [Fact]
    public async Task Send_DealerBlockedAtHighWaterMark_ResumesWhenPeerBinds()
    {
        // Connect before anyone listens: the pipe exists and queues, up to the high-water mark.
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        string endpoint = $"tcp://127.0.0.1:{((System.Net.IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        await using var dealer = new DealerSocket(new SocketOptions { SendHighWaterMark = 1, ReconnectInterval = TimeSpan.FromMilliseconds(20) });
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("queued")).AsTask().Within();
        var blocked = dealer.SendAsync(Message.FromStrings("waiting")).AsTask();
        blocked.IsCompleted.Should().BeFalse("the only pipe is full and its peer is not there yet");

        await using var router = new RouterSocket();
        router.Bind(endpoint);

        await blocked.Within();
        (await router.ReceiveWithin()).GetString(1).Should().Be("queued");
        (await router.ReceiveWithin()).GetString(1).Should().Be("waiting");
    }

    [Fact]
    public async Task Send_RouterPeerQueueFull_DropsWithoutMandatoryAndWaitsWithIt()
    {
        // A raw peer that never reads lets the router's queue for it fill up.
        await using var router = new RouterSocket(new SocketOptions { SendHighWaterMark = 1, RouterMandatory = true });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        using var peer = await RawPeer.ConnectAsync(endpoint);
        var up = router.NextEvent(SocketEventKind.HandshakeSucceeded);
        await peer.HandshakeAsync("DEALER", "slow");
        await up.Within();

        var big = new byte[1024 * 1024];
        bool sawFull = false;
        for (int i = 0; i < 64 && !sawFull; i++)
        {
            sawFull = !await router.TrySendAsync(new Message().Append("slow"u8.ToArray()).Append(big), TimeSpan.Zero);
        }

        sawFull.Should().BeTrue("with RouterMandatory a full peer queue refuses instead of dropping");
    }

    [Fact]
    public async Task TryReceive_NothingArrives_ReturnsNullAfterTimeout()
    {
        await using var dealer = new DealerSocket();

        (await dealer.TryReceiveAsync(TimeSpan.FromMilliseconds(20))).Should().BeNull();
    }

    [Fact]
    public async Task Receive_WithReceiveTimeout_ThrowsTimeout()
    {
        await using var dealer = new DealerSocket(new SocketOptions { ReceiveTimeout = TimeSpan.FromMilliseconds(20) });

        var receive = async () => await dealer.ReceiveAsync();

        await receive.Should().ThrowAsync<TimeoutException>();
    }

    [Fact]
    public async Task Receive_Cancelled_ThrowsOperationCanceled()
    {
        await using var dealer = new DealerSocket();
        using var cancel = new CancellationTokenSource();
        var pending = dealer.ReceiveAsync(cancel.Token).AsTask();

        await cancel.CancelAsync();

        await pending.Awaiting(p => p.Within()).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Dispose_WithUndeliverableMessages_ReturnsWithinLinger()
    {
        var dealer = new DealerSocket(new SocketOptions { Linger = TimeSpan.FromMilliseconds(100) });
        dealer.Connect("tcp://127.0.0.1:1");
        await dealer.SendAsync(Message.FromStrings("never delivered"));
        var clock = Stopwatch.StartNew();

        await dealer.DisposeAsync().AsTask().Within();

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "closing never hangs");
    }

    [Fact]
    public async Task Dispose_WithQueuedMessages_DeliversThemWithinLinger()
    {
        await using var pull = new PullSocket();
        string endpoint = pull.Bind("tcp://127.0.0.1:0");
        var push = new PushSocket();
        push.Connect(endpoint);
        for (int i = 0; i < 1000; i++)
        {
            await push.SendAsync(Message.FromStrings($"m{i}"));
        }

        await push.DisposeAsync().AsTask().Within();

        for (int i = 0; i < 1000; i++)
        {
            (await pull.ReceiveWithin()).GetString(0).Should().Be($"m{i}");
        }
    }

    [Fact]
    public async Task Operations_AfterDispose_ThrowObjectDisposed()
    {
        var dealer = new DealerSocket();
        await dealer.DisposeAsync();

        dealer.Invoking(d => d.Connect("tcp://127.0.0.1:5555")).Should().Throw<ObjectDisposedException>();
        await dealer.Awaiting(d => d.SendAsync(Message.FromStrings("x")).AsTask()).Should().ThrowAsync<ObjectDisposedException>();
        await dealer.Awaiting(d => d.ReceiveAsync().AsTask()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task Reconnect_PeerRestartsOnSamePort_QueuedMessagesDelivered()
    {
        var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(new SocketOptions { RoutingId = "d"u8.ToArray(), ReconnectInterval = TimeSpan.FromMilliseconds(20) });
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("before"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("before");
        var lost = dealer.NextEvent(SocketEventKind.Disconnected);
        await router.DisposeAsync();
        await lost.Within();

        await dealer.SendAsync(Message.FromStrings("while away"));
        await using var restarted = new RouterSocket();
        restarted.Bind(endpoint);

        (await restarted.ReceiveWithin()).GetString(1).Should().Be("while away");
    }

    [Fact]
    public async Task Reconnect_NoListener_RetriesWithBackoffReported()
    {
        await using var dealer = new DealerSocket(new SocketOptions
        {
            ReconnectInterval = TimeSpan.FromMilliseconds(10),
            ReconnectIntervalMax = TimeSpan.FromMilliseconds(80),
        });
        var delays = new List<TimeSpan>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        dealer.EventRaised += (_, e) =>
        {
            if (e.Kind == SocketEventKind.ConnectRetried)
            {
                lock (delays)
                {
                    delays.Add(e.RetryIn!.Value);
                    if (delays.Count == 6)
                    {
                        enough.TrySetResult();
                    }
                }
            }
        };

        dealer.Connect("tcp://127.0.0.1:1");
        await enough.Task.Within();

        lock (delays)
        {
            // Interval doubles 10, 20, 40, 80, 80 ms, each shortened by up to half (jitter never lengthens a wait).
            delays[0].Should().BeGreaterThan(TimeSpan.FromMilliseconds(5)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(10));
            delays[3].Should().BeGreaterThan(TimeSpan.FromMilliseconds(40)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(80));
            delays[5].Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(80), "back-off is capped");
        }
    }

    [Theory]
    [InlineData("127.0.0.1:5555")]
    [InlineData("tcp://127.0.0.1")]
    [InlineData("tcp://127.0.0.1:99999")]
    [InlineData("tcp://127.0.0.1:abc")]
    [InlineData("udp://127.0.0.1:5555")]
    [InlineData("tcp://:5555")]
    public async Task Bind_MalformedEndpoint_ThrowsEndpointException(string endpoint)
    {
        await using var socket = new RouterSocket();

        socket.Invoking(s => s.Bind(endpoint)).Should().Throw<EndpointException>().Which.Endpoint.Should().Be(endpoint);
    }

    [Fact]
    public async Task Connect_WildcardHost_ThrowsEndpointException()
    {
        await using var socket = new DealerSocket();

        socket.Invoking(s => s.Connect("tcp://*:5555")).Should().Throw<EndpointException>();
    }

    [Fact]
    public async Task Bind_AddressInUse_ThrowsEndpointExceptionAndFirstStillServes()
    {
        await using var first = new RouterSocket();
        string endpoint = first.Bind("tcp://127.0.0.1:0");
        await using var second = new RouterSocket();

        second.Invoking(s => s.Bind(endpoint)).Should().Throw<EndpointException>().WithMessage("*address already in use*");

        await using var dealer = new DealerSocket();
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("still here"));
        (await first.ReceiveWithin()).GetString(1).Should().Be("still here");
    }

    [Fact]
    public async Task Bind_WildcardHostAndPortZero_ReturnsActualEndpoint()
    {
        await using var router = new RouterSocket();

        string bound = router.Bind("tcp://*:0");

        bound.Should().StartWith("tcp://0.0.0.0:");
        router.LastEndpoint.Should().Be(bound);
        int port = new Uri(bound).Port;
        port.Should().BeGreaterThan(0);

        await using var dealer = new DealerSocket();
        dealer.Connect($"tcp://localhost:{port}");
        await dealer.SendAsync(Message.FromStrings("by host name"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("by host name");
    }

    [Fact]
    public void Constructor_InvalidOptions_ReportsAllProblemsTogether()
    {
        var create = () => new DealerSocket(new SocketOptions { SendHighWaterMark = -1, ReconnectInterval = TimeSpan.Zero, MaxMessageSize = 0 });

        create.Should().Throw<ArgumentException>()
            .WithMessage("*SendHighWaterMark*")
            .WithMessage("*ReconnectInterval*")
            .WithMessage("*MaxMessageSize*");
    }

    [Fact]
    public async Task Poller_MessageOnSecondSocket_ReturnsItsIndex()
    {
        await using var idle = new DealerSocket();
        await using var busy = new RouterSocket();
        string endpoint = busy.Bind("tcp://127.0.0.1:0");
        await using var sender = new DealerSocket();
        sender.Connect(endpoint);

        var waiting = Poller.WaitAnyAsync([idle, busy], TestTimeouts.Long).AsTask();
        await sender.SendAsync(Message.FromStrings("wake"));

        (await waiting.Within()).Should().Be(1);
        (await busy.TryReceiveAsync(TimeSpan.Zero))!.GetString(1).Should().Be("wake");
    }

    [Fact]
    public async Task Poller_NothingArrives_ReturnsMinusOne()
    {
        await using var a = new DealerSocket();
        await using var b = new DealerSocket();

        (await Poller.WaitAnyAsync([a, b], TimeSpan.FromMilliseconds(30)).AsTask().Within()).Should().Be(-1);
    }

    [Fact]
    public async Task Poller_SocketDisposedWhileWaiting_ThrowsObjectDisposed()
    {
        var pull = new PullSocket();
        pull.Bind("tcp://127.0.0.1:0");
        var waiting = Poller.WaitAnyAsync([pull], TestTimeouts.Long).AsTask();

        await pull.DisposeAsync();

        await waiting.Awaiting(w => w.Within()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task Metrics_MessagesExchanged_CountedOnTransportMeter()
    {
        long sent = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Reliability.Transport" && instrument.Name == "reliability.transport.messages.sent")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref sent, value));
        listener.Start();

        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket();
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("counted"));
        await router.ReceiveWithin();

        Interlocked.Read(ref sent).Should().BeGreaterThanOrEqualTo(1);
    }
}
