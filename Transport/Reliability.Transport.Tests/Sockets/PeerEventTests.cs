namespace Reliability.Transport.Tests.Sockets;

/// <summary>Peer events (<see cref="SocketOptions.ReceivePeerEvents"/>) arrive in the receive stream, in order with the peer's messages.</summary>
public sealed class PeerEventTests
{
    private static readonly SocketOptions WithEvents = new() { ReceivePeerEvents = true };

    [Theory]
    [InlineData("tcp://127.0.0.1:0")]
    [InlineData("inproc://peer-events-order")]
    public async Task Router_PeerSendsAndLeaves_ConnectedThenMessagesThenDisconnected(string endpoint)
    {
        await using var router = new RouterSocket(WithEvents);
        string bound = router.Bind(endpoint);
        var dealer = new DealerSocket(new SocketOptions { RoutingId = "w1"u8.ToArray() });
        dealer.Connect(bound);
        await dealer.SendAsync(Message.FromStrings("a"));
        await dealer.SendAsync(Message.FromStrings("b"));

        var connected = await router.ReceiveWithin();
        var first = await router.ReceiveWithin();
        var second = await router.ReceiveWithin();
        await dealer.DisposeAsync();
        var gone = await router.ReceiveWithin();

        connected.PeerEvent.Should().Be(PeerEventKind.Connected);
        connected.Count.Should().Be(1);
        connected.GetString(0).Should().Be("w1");
        first.PeerEvent.Should().Be(PeerEventKind.None);
        new[] { first.GetString(0), first.GetString(1), second.GetString(1) }.Should().Equal("w1", "a", "b");
        gone.PeerEvent.Should().Be(PeerEventKind.Disconnected);
        gone.GetString(0).Should().Be("w1");
    }

    [Fact]
    public async Task Router_PeerWithoutIdentity_EventsCarryTheGeneratedId()
    {
        await using var router = new RouterSocket(WithEvents);
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var dealer = new DealerSocket();
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("hello"));

        var connected = await router.ReceiveWithin();
        var hello = await router.ReceiveWithin();
        await dealer.DisposeAsync();
        var gone = await router.ReceiveWithin();

        connected[0].ToArray().Should().Equal(hello[0].ToArray()).And.HaveCount(5);
        gone.PeerEvent.Should().Be(PeerEventKind.Disconnected);
        gone[0].ToArray().Should().Equal(hello[0].ToArray());
    }

    [Fact]
    public async Task Router_Handover_OldPeerDepartsBeforeNewOneArrives()
    {
        await using var router = new RouterSocket(WithEvents with { RouterHandover = true });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var first = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray(), Reconnect = false });
        first.Connect(endpoint);
        await first.SendAsync(Message.FromStrings("one"));
        (await router.ReceiveWithin()).PeerEvent.Should().Be(PeerEventKind.Connected);
        (await router.ReceiveWithin()).GetString(1).Should().Be("one");

        await using var second = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray() });
        var firstDropped = first.NextEvent(SocketEventKind.Disconnected);
        second.Connect(endpoint);
        await second.SendAsync(Message.FromStrings("two"));
        await firstDropped.Within();

        var sequence = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var message = await router.ReceiveWithin();
            sequence.Add(message.PeerEvent == PeerEventKind.None ? message.GetString(1) : message.PeerEvent.ToString());
        }

        sequence.Should().Equal("Disconnected", "Connected", "two");

        // The old connection's end, reported later on the monitor, adds no second departure.
        var late = await router.TryReceiveAsync(TestTimeouts.Short);
        late.Should().BeNull();
        router.IsConnected("same"u8).Should().BeTrue();
    }

    [Fact]
    public async Task Router_RefusedDuplicate_NoEventsForIt()
    {
        await using var router = new RouterSocket(WithEvents);
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var first = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray() });
        first.Connect(endpoint);
        (await router.ReceiveWithin()).PeerEvent.Should().Be(PeerEventKind.Connected);

        var refused = router.NextEvent(SocketEventKind.HandshakeFailed, e => e.Error == ProtocolError.DuplicateIdentity);
        await using var second = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray(), Reconnect = false });
        second.Connect(endpoint);
        await refused.Within();

        (await router.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull("the refused connection never arrived");
    }

    [Fact]
    public async Task Dealer_PeerComesAndGoes_EventsWithoutFramesAroundItsMessages()
    {
        var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(WithEvents with { Reconnect = false });
        dealer.Connect(endpoint);

        var connected = await dealer.ReceiveWithin();
        await dealer.SendAsync(Message.FromStrings("ping"));
        var ping = await router.ReceiveWithin();
        await router.SendAsync(new Message().Append(ping[0]).Append("pong"));
        var pong = await dealer.ReceiveWithin();
        await router.DisposeAsync();
        var gone = await dealer.ReceiveWithin();

        connected.PeerEvent.Should().Be(PeerEventKind.Connected);
        connected.Count.Should().Be(0);
        pong.PeerEvent.Should().Be(PeerEventKind.None);
        pong.GetString(0).Should().Be("pong");
        gone.PeerEvent.Should().Be(PeerEventKind.Disconnected);
        gone.Count.Should().Be(0);
    }

    [Fact]
    public async Task Router_WithoutTheOption_DeliversNoEvents()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var dealer = new DealerSocket();
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("only"));

        (await router.ReceiveWithin()).GetString(1).Should().Be("only");
        var gone = router.NextEvent(SocketEventKind.Disconnected);
        await dealer.DisposeAsync();
        await gone.Within();
        (await router.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull();
    }

    [Fact]
    public async Task Router_InlineReceiver_SeesEventsInOrder()
    {
        await using var router = new RouterSocket(WithEvents with { InlineReceiveContinuations = true });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var pending = router.ReceiveWithin();
        var dealer = new DealerSocket(new SocketOptions { RoutingId = "inline"u8.ToArray() });
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("x"));

        (await pending).PeerEvent.Should().Be(PeerEventKind.Connected);
        (await router.ReceiveWithin()).GetString(1).Should().Be("x");
        await dealer.DisposeAsync();
        (await router.ReceiveWithin()).PeerEvent.Should().Be(PeerEventKind.Disconnected);
    }

    [Theory]
    [InlineData(SocketType.Pub)]
    [InlineData(SocketType.Req)]
    [InlineData(SocketType.Pair)]
    public void OtherSocketTypes_RejectTheOption(SocketType type)
    {
        Action create = () => _ = type switch
        {
            SocketType.Pub => (ZmqSocket)new PublisherSocket(WithEvents),
            SocketType.Req => new RequestSocket(WithEvents),
            _ => new PairSocket(WithEvents),
        };

        create.Should().Throw<ArgumentException>().WithMessage("*ReceivePeerEvents*");
    }
}
