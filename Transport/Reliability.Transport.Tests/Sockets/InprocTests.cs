using System.Collections.Concurrent;
using Reliability.Transport.Internal;

namespace Reliability.Transport.Tests.Sockets;

/// <summary>inproc:// endpoints: sockets of one process linked without ZMTP, with the socket semantics of tcp://.</summary>
public sealed class InprocTests
{
    private static string NewName() => $"inproc://test-{Guid.NewGuid():N}";

    /// <summary>Records every event of a socket, in order.</summary>
    private static ConcurrentQueue<SocketEvent> Record(ZmqSocket socket)
    {
        var events = new ConcurrentQueue<SocketEvent>();
        socket.EventRaised += (_, e) => events.Enqueue(e);
        return events;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Inproc_PushPull_DeliversInOrderWhicheverSideComesFirst(bool connectFirst)
    {
        string name = NewName();
        await using var pull = new PullSocket();
        await using var push = new PushSocket();
        if (connectFirst)
        {
            push.Connect(name);
            pull.Bind(name);
        }
        else
        {
            pull.Bind(name);
            push.Connect(name);
        }

        for (int i = 0; i < 100; i++)
        {
            await push.SendAsync(Message.FromStrings(i.ToString(System.Globalization.CultureInfo.InvariantCulture), "tail")).AsTask().Within();
        }

        for (int i = 0; i < 100; i++)
        {
            var message = await pull.ReceiveWithin();
            message.GetString(0).Should().Be(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            message.GetString(1).Should().Be("tail");
        }
    }

    [Fact]
    public async Task Inproc_PushPull_HandsTheMessageObjectAcross()
    {
        string name = NewName();
        await using var pull = new PullSocket();
        pull.Bind(name);
        await using var push = new PushSocket();
        push.Connect(name);
        var sent = Message.FromStrings("no copy");

        await push.SendAsync(sent).AsTask().Within();

        (await pull.ReceiveWithin()).Should().BeSameAs(sent, "inproc moves Message objects, no encoding");
    }

    [Fact]
    public async Task Inproc_ReqRep_RoundTrips()
    {
        string name = NewName();
        await using var rep = new ReplySocket();
        rep.Bind(name);
        await using var req = new RequestSocket();
        req.Connect(name);

        for (int i = 0; i < 3; i++)
        {
            await req.SendAsync(Message.FromStrings("ping")).AsTask().Within();
            (await rep.ReceiveWithin()).GetString(0).Should().Be("ping");
            await rep.SendAsync(Message.FromStrings("pong")).AsTask().Within();
            var reply = await req.ReceiveWithin();
            reply.Count.Should().Be(1);
            reply.GetString(0).Should().Be("pong");
        }
    }

    [Fact]
    public async Task Inproc_ReqToRouter_EnvelopeAsOverTcp()
    {
        string name = NewName();
        await using var router = new RouterSocket();
        router.Bind(name);
        await using var req = new RequestSocket(new SocketOptions { RoutingId = "client"u8.ToArray() });
        req.Connect(name);

        await req.SendAsync(Message.FromStrings("question")).AsTask().Within();
        var request = await router.ReceiveWithin();
        request.Select(f => System.Text.Encoding.UTF8.GetString(f.Span)).Should().Equal("client", string.Empty, "question");
        await router.SendAsync(Message.FromStrings("client", string.Empty, "answer")).AsTask().Within();

        (await req.ReceiveWithin()).GetString(0).Should().Be("answer");
    }

    [Fact]
    public async Task Inproc_DealerToRep_RoundTrips()
    {
        string name = NewName();
        await using var dealer = new DealerSocket();
        dealer.Bind(name);
        await using var rep = new ReplySocket();
        rep.Connect(name);

        await dealer.SendAsync(new Message().AppendEmpty().Append("work")).AsTask().Within();
        (await rep.ReceiveWithin()).GetString(0).Should().Be("work");
        await rep.SendAsync(Message.FromStrings("done")).AsTask().Within();

        var reply = await dealer.ReceiveWithin();
        reply.Count.Should().Be(2);
        reply.GetString(1).Should().Be("done");
    }

    [Fact]
    public async Task Inproc_DealerRouter_RouterSeesRoutingIdAndRoutesReplies()
    {
        string name = NewName();
        await using var router = new RouterSocket();
        router.Bind(name);
        await using var named = new DealerSocket(new SocketOptions { RoutingId = "worker-1"u8.ToArray() });
        await using var anonymous = new DealerSocket();
        var up = router.NextEvent(SocketEventKind.HandshakeSucceeded, e => !e.PeerRoutingId.IsEmpty && e.PeerRoutingId.Span.SequenceEqual("worker-1"u8));
        named.Connect(name);
        anonymous.Connect(name);
        await up.Within();

        await named.SendAsync(Message.FromStrings("from named")).AsTask().Within();
        var fromNamed = await router.ReceiveWithin();
        fromNamed.GetString(0).Should().Be("worker-1");
        await anonymous.SendAsync(Message.FromStrings("from anonymous")).AsTask().Within();
        var fromAnonymous = await router.ReceiveWithin();
        fromAnonymous[0].Length.Should().Be(5, "a peer without a RoutingId gets a generated 5-byte id");
        fromAnonymous[0].Span[0].Should().Be(0);

        await router.SendAsync(new Message().Append(fromAnonymous[0]).Append("to anonymous")).AsTask().Within();
        await router.SendAsync(Message.FromStrings("worker-1", "to named")).AsTask().Within();
        (await anonymous.ReceiveWithin()).GetString(0).Should().Be("to anonymous");
        (await named.ReceiveWithin()).GetString(0).Should().Be("to named");
    }

    [Fact]
    public async Task Inproc_RouterToRouter_BothSidesKnowTheOthersId()
    {
        string name = NewName();
        await using var server = new RouterSocket(new SocketOptions { RoutingId = "server"u8.ToArray() });
        server.Bind(name);
        await using var client = new RouterSocket(new SocketOptions { RoutingId = "client"u8.ToArray() });
        var clientUp = client.NextEvent(SocketEventKind.HandshakeSucceeded);
        client.Connect(name);
        (await clientUp.Within()).PeerRoutingId.ToArray().Should().Equal("server"u8.ToArray());

        await client.SendAsync(Message.FromStrings("server", "hello")).AsTask().Within();
        var received = await server.ReceiveWithin();
        received.GetString(0).Should().Be("client");
        received.GetString(1).Should().Be("hello");
    }

    [Fact]
    public async Task Inproc_Pair_RoundTripsAndRefusesASecondPeer()
    {
        string name = NewName();
        await using var bound = new PairSocket();
        bound.Bind(name);
        await using var first = new PairSocket();
        var firstUp = first.NextEvent(SocketEventKind.HandshakeSucceeded);
        first.Connect(name);
        await firstUp.Within();
        await first.SendAsync(Message.FromStrings("hi")).AsTask().Within();
        (await bound.ReceiveWithin()).GetString(0).Should().Be("hi");

        await using var second = new PairSocket(new SocketOptions { ReconnectInterval = TimeSpan.FromSeconds(5), Linger = TimeSpan.Zero });
        var refused = second.NextEvent(SocketEventKind.HandshakeFailed);
        var refusedAtBinder = bound.NextEvent(SocketEventKind.HandshakeFailed);
        second.Connect(name);

        (await refused.Within()).Error.Should().Be(ProtocolError.PeerRefused);
        (await refusedAtBinder.Within()).Error.Should().Be(ProtocolError.PeerRefused);
        await bound.SendAsync(Message.FromStrings("only for the first")).AsTask().Within();
        (await first.ReceiveWithin()).GetString(0).Should().Be("only for the first");
    }

    [Theory]
    [InlineData(SocketType.Push, SocketType.Push)]
    [InlineData(SocketType.Req, SocketType.Req)]
    [InlineData(SocketType.Pub, SocketType.Pull)]
    [InlineData(SocketType.Pair, SocketType.Dealer)]
    public async Task Inproc_IncompatibleTypes_RefusedOnBothSidesAndNotRetried(SocketType boundType, SocketType connectingType)
    {
        string name = NewName();
        await using var bound = Create(boundType);
        bound.Bind(name);
        await using var connecting = Create(connectingType, new SocketOptions { ReconnectInterval = TimeSpan.FromMilliseconds(10) });
        var refused = connecting.NextEvent(SocketEventKind.HandshakeFailed);
        var refusedAtBinder = bound.NextEvent(SocketEventKind.HandshakeFailed);

        connecting.Connect(name);

        (await refused.Within()).Error.Should().Be(ProtocolError.IncompatibleSocketType);
        (await refusedAtBinder.Within()).Error.Should().Be(ProtocolError.IncompatibleSocketType);
        var retried = connecting.NextEvent(SocketEventKind.Connected);
        await retried.Invoking(t => t.WaitAsync(TestTimeouts.Short)).Should().ThrowAsync<TimeoutException>("a protocol error is not retried (libzmq)");
    }

    [Fact]
    public async Task Inproc_PubSub_DeliversOnlySubscribedTopicsAndCancels()
    {
        string name = NewName();
        await using var xpub = new XPublisherSocket();
        xpub.Bind(name);
        await using var sub = new SubscriberSocket();
        sub.Subscribe("A");
        sub.Connect(name);

        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'A');
        await xpub.SendAsync(Message.FromStrings("B-ignored")).AsTask().Within();
        await xpub.SendAsync(Message.FromStrings("A-1", "second")).AsTask().Within();
        var received = await sub.ReceiveWithin();
        received.GetString(0).Should().Be("A-1");
        received.GetString(1).Should().Be("second");

        sub.Unsubscribe("A").Should().BeTrue();
        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)0, (byte)'A');
        await xpub.SendAsync(Message.FromStrings("A-2")).AsTask().Within();
        (await sub.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull();
    }

    [Fact]
    public async Task Inproc_PubToTwoSubscribers_EachGetsItsOwnMessage()
    {
        string name = NewName();
        await using var pub = new PublisherSocket();
        pub.Bind(name);
        await using var first = new SubscriberSocket();
        await using var second = new SubscriberSocket();
        first.Subscribe(string.Empty);
        second.Subscribe(string.Empty);
        first.Connect(name);
        second.Connect(name);
        await PubSubTests.PublishUntilReceivedAsync(pub, first, "sync");
        await PubSubTests.PublishUntilReceivedAsync(pub, second, "sync");

        await pub.SendAsync(Message.FromStrings("fan", "out")).AsTask().Within();
        var atFirst = await ReceiveSkippingAsync(first, "sync");
        var atSecond = await ReceiveSkippingAsync(second, "sync");

        atFirst.Should().NotBeSameAs(atSecond, "receivers edit envelopes in place, so fan-out must not share one object");
        atFirst.Pop();
        atSecond.GetString(0).Should().Be("fan");
    }

    [Fact]
    public async Task Inproc_SubBindsPubConnects_SubscriptionsFlowUpstream()
    {
        string name = NewName();
        await using var sub = new SubscriberSocket();
        sub.Subscribe("news");
        sub.Bind(name);
        await using var pub = new PublisherSocket();
        pub.Connect(name);

        var received = await PubSubTests.PublishUntilReceivedAsync(pub, sub, "news: inproc");

        received.GetString(0).Should().Be("news: inproc");
    }

    [Fact]
    public async Task Inproc_XPubVerboseWithXSub_EverySubscribeNotified()
    {
        string name = NewName();
        await using var xpub = new XPublisherSocket(new SocketOptions { XPubVerbose = true });
        xpub.Bind(name);
        await using var first = new XSubscriberSocket();
        await using var second = new XSubscriberSocket();
        first.Connect(name);
        second.Connect(name);

        await first.SendAsync(Message.FromFrames(new byte[] { 1, (byte)'T' })).AsTask().Within();
        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'T');
        await second.SendAsync(Message.FromFrames([1, (byte)'T'])).AsTask().Within();
        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'T');

        await xpub.SendAsync(Message.FromStrings("T-1")).AsTask().Within();
        (await first.ReceiveWithin()).GetString(0).Should().Be("T-1");
        (await second.ReceiveWithin()).GetString(0).Should().Be("T-1");
    }

    [Fact]
    public async Task Inproc_ConnectBeforeBind_QueuedMessagesDeliveredWhenBound()
    {
        string name = NewName();
        await using var push = new PushSocket();
        var delayed = push.NextEvent(SocketEventKind.ConnectDelayed);
        push.Connect(name);
        await delayed.Within();
        for (int i = 0; i < 3; i++)
        {
            (await push.TrySendAsync(Message.FromStrings($"early-{i}"), TimeSpan.Zero)).Should().BeTrue("the connecting pipe queues up to its SNDHWM");
        }

        await using var pull = new PullSocket();
        pull.Bind(name);

        for (int i = 0; i < 3; i++)
        {
            (await pull.ReceiveWithin()).GetString(0).Should().Be($"early-{i}");
        }
    }

    [Fact]
    public async Task Inproc_BoundSocketClosed_ConnectorWaitsAndAttachesToTheNextBind()
    {
        string name = NewName();
        await using var push = new PushSocket();
        var first = new PullSocket();
        first.Bind(name);
        var up = push.NextEvent(SocketEventKind.HandshakeSucceeded);
        push.Connect(name);
        await up.Within();
        await push.SendAsync(Message.FromStrings("to first")).AsTask().Within();
        (await first.ReceiveWithin()).GetString(0).Should().Be("to first");

        var gone = push.NextEvent(SocketEventKind.Disconnected);
        var waiting = push.NextEvent(SocketEventKind.ConnectDelayed);
        await first.DisposeAsync().AsTask().Within();
        await gone.Within();
        await waiting.Within();
        await push.SendAsync(Message.FromStrings("while nobody listens")).AsTask().Within();

        await using var second = new PullSocket();
        second.Bind(name);

        (await second.ReceiveWithin()).GetString(0).Should().Be("while nobody listens");
    }

    [Fact]
    public async Task Inproc_ConnectingSocketClosed_BinderSeesDisconnectAndDropsThePeer()
    {
        string name = NewName();
        await using var router = new RouterSocket();
        router.Bind(name);
        var dealer = new DealerSocket(new SocketOptions { RoutingId = "d"u8.ToArray() });
        var up = router.NextEvent(SocketEventKind.HandshakeSucceeded);
        dealer.Connect(name);
        await up.Within();
        router.PeerCount.Should().Be(1);

        var gone = router.NextEvent(SocketEventKind.Disconnected);
        await dealer.DisposeAsync().AsTask().Within();

        (await gone.Within()).Endpoint.Should().Be(name);
        router.PeerCount.Should().Be(0);
    }

    [Fact]
    public async Task Inproc_Disconnect_EndsTheLink()
    {
        string name = NewName();
        await using var pull = new PullSocket();
        pull.Bind(name);
        await using var push = new PushSocket();
        var up = pull.NextEvent(SocketEventKind.HandshakeSucceeded);
        push.Connect(name);
        await up.Within();

        var gone = pull.NextEvent(SocketEventKind.Disconnected);
        push.Disconnect(name).Should().BeTrue();

        await gone.Within();
    }

    [Fact]
    public async Task Inproc_Events_SameKindsAsTcp()
    {
        string name = NewName();
        var pull = new PullSocket();
        var bindEvents = Record(pull);
        pull.Bind(name);
        await using var push = new PushSocket();
        var connectEvents = Record(push);
        var up = pull.NextEvent(SocketEventKind.HandshakeSucceeded);
        var pushUp = push.NextEvent(SocketEventKind.HandshakeSucceeded);
        push.Connect(name);
        await up.Within();
        await pushUp.Within();

        await pull.DisposeAsync().AsTask().Within();

        bindEvents.Select(e => e.Kind).Should().StartWith(
            [SocketEventKind.Listening, SocketEventKind.Accepted, SocketEventKind.HandshakeSucceeded]);
        bindEvents.Should().Contain(e => e.Kind == SocketEventKind.Closed && e.Endpoint == name);
        bindEvents.Should().OnlyContain(e => e.Endpoint == name || e.Kind == SocketEventKind.MonitorStopped);
        connectEvents.Select(e => e.Kind).Should().ContainInOrder(SocketEventKind.Connected, SocketEventKind.HandshakeSucceeded);
    }

    [Fact]
    public async Task Inproc_RebindAfterClose_Succeeds()
    {
        string name = NewName();
        var first = new PullSocket();
        first.Bind(name);
        await first.DisposeAsync().AsTask().Within();

        await using var second = new PullSocket();

        second.Bind(name).Should().Be(name);
        second.LastEndpoint.Should().Be(name);
    }

    [Fact]
    public async Task Inproc_SecondBindOfALiveName_ThrowsAddressInUse()
    {
        string name = NewName();
        await using var first = new PullSocket();
        first.Bind(name);
        await using var second = new PullSocket();
        var failed = second.NextEvent(SocketEventKind.BindFailed);

        second.Invoking(s => s.Bind(name)).Should().Throw<EndpointException>().WithMessage("*in use*");
        first.Invoking(s => s.Bind(name)).Should().Throw<EndpointException>().WithMessage("*in use*");
        await failed.Within();
    }

    [Theory]
    [InlineData("inproc://")]
    [InlineData("inprocess://name")]
    public async Task Inproc_BadEndpoint_ThrowsEndpointException(string endpoint)
    {
        await using var socket = new PairSocket();

        socket.Invoking(s => s.Bind(endpoint)).Should().Throw<EndpointException>();
        socket.Invoking(s => s.Connect(endpoint)).Should().Throw<EndpointException>();
    }

    [Fact]
    public async Task Inproc_PushHighWaterMarks_SenderAndReceiverQueuesAddUp()
    {
        string name = NewName();
        await using var pull = new PullSocket(new SocketOptions { ReceiveHighWaterMark = 3 });
        pull.Bind(name);
        await using var push = new PushSocket(new SocketOptions { SendHighWaterMark = 2, Linger = TimeSpan.Zero });
        var up = push.NextEvent(SocketEventKind.HandshakeSucceeded);
        push.Connect(name);
        await up.Within();

        for (int i = 0; i < 5; i++)
        {
            (await push.TrySendAsync(Message.FromStrings($"m{i}"), TestTimeouts.Long)).Should().BeTrue($"message {i} fits in SNDHWM 2 + RCVHWM 3");
        }

        (await push.TrySendAsync(Message.FromStrings("m5"), TestTimeouts.Short)).Should().BeFalse("both queues are full");

        for (int i = 0; i < 5; i++)
        {
            (await pull.ReceiveWithin()).GetString(0).Should().Be($"m{i}");
        }

        (await push.TrySendAsync(Message.FromStrings("after"), TestTimeouts.Long)).Should().BeTrue("the receiver made room");
        (await pull.ReceiveWithin()).GetString(0).Should().Be("after");
    }

    [Fact]
    public async Task Inproc_PubHighWaterMarks_DropsInsteadOfBlocking()
    {
        string name = NewName();
        await using var pub = new PublisherSocket(new SocketOptions { SendHighWaterMark = 1 });
        pub.Bind(name);
        await using var sub = new SubscriberSocket(new SocketOptions { ReceiveHighWaterMark = 1 });
        sub.Subscribe("x");
        sub.Connect(name);
        await PubSubTests.PublishUntilReceivedAsync(pub, sub, "x-sync");
        while (await sub.TryReceiveAsync(TimeSpan.Zero) is not null)
        {
        }

        for (int i = 0; i < 10; i++)
        {
            (await pub.TrySendAsync(Message.FromStrings($"x{i}"), TimeSpan.Zero)).Should().BeTrue("a publisher never blocks");
        }

        var received = await DrainAsync(sub);
        received.Should().HaveCountGreaterThanOrEqualTo(1).And.HaveCountLessThanOrEqualTo(2, "SNDHWM 1 + RCVHWM 1; the rest was dropped");
        received[0].Should().Be("x0");
    }

    [Fact]
    public async Task Inproc_RouterPeerQueueFull_DropsWithoutMandatory()
    {
        string name = NewName();
        await using var router = new RouterSocket(new SocketOptions { SendHighWaterMark = 1 });
        router.Bind(name);
        await using var dealer = new DealerSocket(new SocketOptions { RoutingId = "slow"u8.ToArray(), ReceiveHighWaterMark = 1 });
        var up = router.NextEvent(SocketEventKind.HandshakeSucceeded);
        dealer.Connect(name);
        await up.Within();

        for (int i = 0; i < 10; i++)
        {
            (await router.TrySendAsync(Message.FromStrings("slow", $"r{i}"), TimeSpan.Zero)).Should().BeTrue("ROUTER drops rather than blocks");
        }

        var received = await DrainAsync(dealer);
        received.Should().HaveCountGreaterThanOrEqualTo(1).And.HaveCountLessThanOrEqualTo(2, "SNDHWM 1 + RCVHWM 1; the rest was dropped");
        received[0].Should().Be("r0");
    }

    [Fact]
    public async Task Inproc_DisposeWithUndeliverableMessages_EndsAfterLinger()
    {
        string name = NewName();
        await using var pull = new PullSocket(new SocketOptions { ReceiveHighWaterMark = 1 });
        pull.Bind(name);
        var stuck = new PushSocket(new SocketOptions { Linger = TimeSpan.FromMilliseconds(100) });
        stuck.Connect(name);
        var unbound = new PushSocket(new SocketOptions { Linger = TimeSpan.FromMilliseconds(100) });
        unbound.Connect(NewName());
        for (int i = 0; i < 5; i++)
        {
            await stuck.SendAsync(Message.FromStrings("never read")).AsTask().Within();
            await unbound.SendAsync(Message.FromStrings("never bound")).AsTask().Within();
        }

        await stuck.DisposeAsync().AsTask().Within();
        await unbound.DisposeAsync().AsTask().Within();
    }

    [Fact]
    public async Task Inproc_DisposeWithQueuedMessages_LingerDeliversThem()
    {
        string name = NewName();
        await using var pull = new PullSocket();
        pull.Bind(name);
        var push = new PushSocket();
        push.Connect(name);
        for (int i = 0; i < 50; i++)
        {
            await push.SendAsync(Message.FromStrings($"m{i}")).AsTask().Within();
        }

        await push.DisposeAsync().AsTask().Within();

        for (int i = 0; i < 50; i++)
        {
            (await pull.ReceiveWithin()).GetString(0).Should().Be($"m{i}");
        }
    }

    [Fact]
    public async Task Inproc_DisposeOfIdleConnector_DoesNotWaitForABind()
    {
        var push = new PushSocket(new SocketOptions { Linger = TimeSpan.FromSeconds(30) });
        push.Connect(NewName());

        await push.DisposeAsync().AsTask().Within();
    }

    [Fact]
    public async Task Inproc_ConnectorsOfANameNeverBound_LeaveNoWaiterBehindWhenClosed()
    {
        string endpoint = NewName();
        string name = endpoint["inproc://".Length..];
        var first = new PushSocket();
        var second = new PushSocket();
        var delayed = new[] { first, second }.Select(socket =>
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            socket.EventRaised += (_, e) =>
            {
                if (e.Kind == SocketEventKind.ConnectDelayed)
                {
                    seen.TrySetResult();
                }
            };
            socket.Connect(endpoint);
            return seen.Task;
        }).ToArray();
        await Task.WhenAll(delayed).Within();
        InprocRegistry.IsAwaited(name).Should().BeTrue("both connectors wait for the bind");

        await first.DisposeAsync().AsTask().Within();
        InprocRegistry.IsAwaited(name).Should().BeTrue("the second connector still waits");

        await second.DisposeAsync().AsTask().Within();
        InprocRegistry.IsAwaited(name).Should().BeFalse("the last waiter took the name's entry with it");
    }

    [Fact]
    public async Task Inproc_InlineReceiveContinuationsOnBothSides_PingPongNeverRunsOnTheSendersThread()
    {
        string name = NewName();
        var inline = new SocketOptions { InlineReceiveContinuations = true };
        await using var router = new RouterSocket(inline);
        router.Bind(name);
        await using var dealer = new DealerSocket(inline with { RoutingId = "p"u8.ToArray() });
        dealer.Connect(name);
        using var stop = new CancellationTokenSource(TestTimeouts.Long);
        int senderThread = -1;
        int onSendersThread = 0;
        var echo = Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                var request = await router.ReceiveAsync(stop.Token);
                if (Environment.CurrentManagedThreadId == Volatile.Read(ref senderThread))
                {
                    onSendersThread++;
                }

                await router.SendAsync(request, stop.Token);
            }
        });

        // Off the test runner's synchronization context, where inline wake-ups really happen.
        await Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                Volatile.Write(ref senderThread, Environment.CurrentManagedThreadId);
                await dealer.SendAsync(Message.FromStrings($"{i}"), stop.Token);
                Volatile.Write(ref senderThread, -1);
                (await dealer.ReceiveAsync(stop.Token)).GetString(0).Should().Be($"{i}");
            }
        }).Within();

        await echo.Within();
        onSendersThread.Should().Be(0, "the receiver resumes on the link's thread, not inside the sender's send");
    }

    [Fact]
    public async Task Inproc_ProxyFromTcpClientsToInprocWorkers_RequestsAnswered()
    {
        string backendName = NewName();
        await using var frontend = new RouterSocket();
        string frontendEndpoint = frontend.Bind("tcp://127.0.0.1:0");
        await using var backend = new DealerSocket();
        backend.Bind(backendName);
        await using var worker = new ReplySocket();
        worker.Connect(backendName);
        using var stop = new CancellationTokenSource(TestTimeouts.Long);
        var proxy = Proxy.RunAsync(frontend, backend, cancellationToken: stop.Token);
        var serving = Task.Run(async () =>
        {
            for (int i = 0; i < 3; i++)
            {
                var request = await worker.ReceiveAsync(stop.Token);
                await worker.SendAsync(Message.FromStrings("re: " + request.GetString(0)), stop.Token);
            }
        });
        await using var client = new RequestSocket();
        client.Connect(frontendEndpoint);

        for (int i = 0; i < 3; i++)
        {
            await client.SendAsync(Message.FromStrings($"q{i}")).AsTask().Within();
            (await client.ReceiveWithin()).GetString(0).Should().Be($"re: q{i}");
        }

        await serving.Within();
        await stop.CancelAsync();
        await proxy.Invoking(p => p.Within()).Should().ThrowAsync<OperationCanceledException>();
    }

    /// <summary>
    /// Everything the socket receives until it stays quiet for <see cref="TestTimeouts.Short"/>. How many
    /// messages a dropping socket lets through depends on how fast the link moved them while the sender
    /// was sending: the mover runs inline only on threads without a synchronization context, and the
    /// test runner has one.
    /// </summary>
    private static async Task<List<string>> DrainAsync(ZmqSocket socket)
    {
        var received = new List<string>();
        for (int i = 0; i < 100 && await socket.TryReceiveAsync(TestTimeouts.Short) is { } message; i++)
        {
            received.Add(message.GetString(0));
        }

        return received;
    }

    /// <summary>The next message whose first frame is not <paramref name="skipped"/> (left over from a slow-joiner sync loop).</summary>
    private static async Task<Message> ReceiveSkippingAsync(ZmqSocket socket, string skipped)
    {
        for (int i = 0; i < 1000; i++)
        {
            var message = await socket.ReceiveWithin();
            if (message.GetString(0) != skipped)
            {
                return message;
            }
        }

        throw new InvalidOperationException($"only '{skipped}' messages arrived");
    }

    private static ZmqSocket Create(SocketType type, SocketOptions? options = null) => type switch
    {
        SocketType.Pair => new PairSocket(options),
        SocketType.Pub => new PublisherSocket(options),
        SocketType.Sub => new SubscriberSocket(options),
        SocketType.Req => new RequestSocket(options),
        SocketType.Rep => new ReplySocket(options),
        SocketType.Dealer => new DealerSocket(options),
        SocketType.Router => new RouterSocket(options),
        SocketType.Pull => new PullSocket(options),
        SocketType.Push => new PushSocket(options),
        SocketType.XPub => new XPublisherSocket(options),
        SocketType.XSub => new XSubscriberSocket(options),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
