namespace Reliability.Transport.Tests.Sockets;

/// <summary>Each bad peer is on one connection while a healthy peer keeps being served and nothing accepted is lost.</summary>
public sealed class BadInputTests
{
    private static async Task<(RouterSocket Router, string Endpoint, DealerSocket Healthy)> StartAsync(SocketOptions? routerOptions = null)
    {
        var router = new RouterSocket(routerOptions);
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var healthy = new DealerSocket(new SocketOptions { RoutingId = "healthy"u8.ToArray() });
        healthy.Connect(endpoint);
        await healthy.SendAsync(Message.FromStrings("before"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("before");
        return (router, endpoint, healthy);
    }

    private static async Task AssertHealthyServedAsync(RouterSocket router, DealerSocket healthy)
    {
        await healthy.SendAsync(Message.FromStrings("after"));
        var request = await router.ReceiveWithin();
        request.GetString(0).Should().Be("healthy");
        request.GetString(1).Should().Be("after");
        await router.SendAsync(Message.FromStrings("healthy", "answer"));
        (await healthy.ReceiveWithin()).GetString(0).Should().Be("answer");
    }

    [Fact]
    public async Task Accept_GarbageInsteadOfGreeting_ClosesOnlyThatConnection()
    {
        var (router, endpoint, healthy) = await StartAsync();
        await using var _ = router;
        await using var __ = healthy;
        var failed = router.NextEvent(SocketEventKind.HandshakeFailed);

        using var bad = await RawPeer.ConnectAsync(endpoint);
        await bad.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), new byte[64]);

        (await failed.Within()).Error.Should().Be(ProtocolError.BadGreeting);
        await bad.WaitForCloseAsync();
        await AssertHealthyServedAsync(router, healthy);
    }

    [Fact]
    public async Task Accept_WrongMechanism_ReportsMechanismMismatch()
    {
        var (router, endpoint, healthy) = await StartAsync();
        await using var _ = router;
        await using var __ = healthy;
        var failed = router.NextEvent(SocketEventKind.HandshakeFailed);

        using var bad = await RawPeer.ConnectAsync(endpoint);
        await bad.SendAsync(RawPeer.Greeting("PLAIN"));

        (await failed.Within()).Error.Should().Be(ProtocolError.MechanismMismatch);
        await bad.WaitForCloseAsync();
        await AssertHealthyServedAsync(router, healthy);
    }

    [Fact]
    public async Task Accept_IncompatibleSocketType_ClosesConnection()
    {
        var (router, endpoint, healthy) = await StartAsync();
        await using var _ = router;
        await using var __ = healthy;
        var failed = router.NextEvent(SocketEventKind.HandshakeFailed);

        using var bad = await RawPeer.ConnectAsync(endpoint);
        await bad.SendAsync(RawPeer.Greeting(), RawPeer.Ready("PUB"));

        (await failed.Within()).Error.Should().Be(ProtocolError.IncompatibleSocketType);
        await bad.WaitForCloseAsync();
        await AssertHealthyServedAsync(router, healthy);
    }

    [Fact]
    public async Task Accept_DataFrameBeforeReady_ReportsMalformedCommand()
    {
        var (router, endpoint, healthy) = await StartAsync();
        await using var _ = router;
        await using var __ = healthy;
        var failed = router.NextEvent(SocketEventKind.HandshakeFailed);

        using var bad = await RawPeer.ConnectAsync(endpoint);
        await bad.SendAsync(RawPeer.Greeting(), [0x00, 0x02, (byte)'h', (byte)'i']);

        (await failed.Within()).Error.Should().Be(ProtocolError.MalformedCommand);
        await AssertHealthyServedAsync(router, healthy);
    }

    [Fact]
    public async Task Receive_TruncatedFrameThenClose_DiscardsPartialMessageOnly()
    {
        var (router, endpoint, healthy) = await StartAsync();
        await using var _ = router;
        await using var __ = healthy;
        var gone = router.NextEvent(SocketEventKind.Disconnected);

        using (var bad = await RawPeer.ConnectAsync(endpoint))
        {
            await bad.HandshakeAsync("DEALER", "bad");

            // One whole message, then a frame that promises 100 octets and delivers 3.
            await bad.SendAsync([0x00, 0x02, (byte)'o', (byte)'k'], [0x00, 100, 1, 2, 3]);
            var whole = await router.ReceiveWithin();
            whole.GetString(0).Should().Be("bad");
            whole.GetString(1).Should().Be("ok");
        }

        await gone.Within();
        await AssertHealthyServedAsync(router, healthy);
        (await router.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull("the truncated message must not be delivered");
    }

    [Fact]
    public async Task Receive_OverSizeMessage_DisconnectsThatPeerOnly()
    {
        var (router, endpoint, healthy) = await StartAsync(new SocketOptions { MaxMessageSize = 1000 });
        await using var _ = router;
        await using var __ = healthy;
        var tooLarge = router.NextEvent(SocketEventKind.Disconnected, e => e.Error == ProtocolError.MessageTooLarge);

        await using var big = new DealerSocket(new SocketOptions { RoutingId = "big"u8.ToArray() });
        big.Connect(endpoint);
        await big.SendAsync(Message.FromFrames(new byte[600], new byte[600]));

        await tooLarge.Within();
        await AssertHealthyServedAsync(router, healthy);
    }

    [Fact]
    public async Task Handshake_PeerStallsMidGreeting_TimesOutAndKeepsServing()
    {
        var (router, endpoint, healthy) = await StartAsync(new SocketOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(200) });
        await using var _ = router;
        await using var __ = healthy;
        var failed = router.NextEvent(SocketEventKind.HandshakeFailed);

        using var stalled = await RawPeer.ConnectAsync(endpoint);
        await stalled.SendAsync(RawPeer.Greeting()[..10]);

        (await failed.Within()).Error.Should().Be(ProtocolError.HandshakeTimeout);
        await stalled.WaitForCloseAsync();
        await AssertHealthyServedAsync(router, healthy);
    }

    [Fact]
    public async Task Traffic_UnknownCommandAfterHandshake_Ignored()
    {
        var (router, endpoint, healthy) = await StartAsync();
        await using var _ = router;
        await using var __ = healthy;

        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.HandshakeAsync("DEALER", "odd");
        await peer.SendAsync([0x04, 0x06, 0x05, (byte)'H', (byte)'E', (byte)'L', (byte)'L', (byte)'O'], [0x00, 0x01, (byte)'x']);

        var message = await router.ReceiveWithin();
        message.GetString(0).Should().Be("odd");
        message.GetString(1).Should().Be("x");
    }

    [Fact]
    public async Task Traffic_Ping_AnsweredWithPongEchoingContext()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.HandshakeAsync("DEALER");

        // docs/wire/zmtp.md §16: → 04 09 04 "PING" 00 00 "xy"   ← 04 07 04 "PONG" "xy"
        await peer.SendAsync([0x04, 0x09, 0x04, (byte)'P', (byte)'I', (byte)'N', (byte)'G', 0x00, 0x00, (byte)'x', (byte)'y']);

        (await peer.ReadAsync(9)).Should().Equal(0x04, 0x07, 0x04, (byte)'P', (byte)'O', (byte)'N', (byte)'G', (byte)'x', (byte)'y');
    }

    [Fact]
    public async Task Accept_Zmtp30Peer_ExchangesMessages()
    {
        // A 3.0 peer (NetMQ advertises minor 0): same framing, so messages flow both ways.
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.SendAsync(RawPeer.Greeting(minor: 0), RawPeer.Ready("DEALER", "v30"));
        (await peer.ReadAsync(64))[11].Should().Be(1, "we still advertise 3.1");
        var readyHeader = await peer.ReadAsync(2);
        await peer.ReadAsync(readyHeader[1]);

        await peer.SendAsync([0x00, 0x03, (byte)'o', (byte)'l', (byte)'d']);
        var request = await router.ReceiveWithin();
        request.GetString(0).Should().Be("v30");
        request.GetString(1).Should().Be("old");

        await router.SendAsync(Message.FromStrings("v30", "new"));
        (await peer.ReadAsync(5)).Should().Equal(0x00, 0x03, (byte)'n', (byte)'e', (byte)'w');
    }

    [Fact]
    public async Task Connect_ToIncompatibleSocketType_ReportsHandshakeFailed()
    {
        await using var server = new RequestSocket();
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        await using var client = new RequestSocket();
        var failed = client.NextEvent(SocketEventKind.HandshakeFailed);

        client.Connect(endpoint);

        (await failed.Within()).Error.Should().Be(ProtocolError.IncompatibleSocketType);
    }
}
