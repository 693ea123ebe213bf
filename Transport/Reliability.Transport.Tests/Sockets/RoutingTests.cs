namespace Reliability.Transport.Tests.Sockets;

public sealed class RoutingTests
{
    [Fact]
    public async Task Dealer_TwoPeers_RoundRobinsOutgoing()
    {
        await using var first = new RouterSocket();
        await using var second = new RouterSocket();
        await using var dealer = new DealerSocket();
        var up = new[] { first.NextEvent(SocketEventKind.HandshakeSucceeded), second.NextEvent(SocketEventKind.HandshakeSucceeded) };
        dealer.Connect(first.Bind("tcp://127.0.0.1:0"));
        dealer.Connect(second.Bind("tcp://127.0.0.1:0"));
        await Task.WhenAll(up).Within();

        for (int i = 0; i < 4; i++)
        {
            await dealer.SendAsync(Message.FromStrings($"m{i}"));
        }

        var atFirst = new[] { (await first.ReceiveWithin()).GetString(1), (await first.ReceiveWithin()).GetString(1) };
        var atSecond = new[] { (await second.ReceiveWithin()).GetString(1), (await second.ReceiveWithin()).GetString(1) };
        atFirst.Should().Equal("m0", "m2");
        atSecond.Should().Equal("m1", "m3");
    }

    [Fact]
    public async Task Router_PeerWithoutIdentity_GetsFiveByteGeneratedId()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var a = new DealerSocket();
        await using var b = new DealerSocket();
        a.Connect(endpoint);
        b.Connect(endpoint);

        await a.SendAsync(Message.FromStrings("from a"));
        await b.SendAsync(Message.FromStrings("from b"));
        var first = await router.ReceiveWithin();
        var second = await router.ReceiveWithin();

        first[0].Length.Should().Be(5);
        first[0].Span[0].Should().Be(0);
        second[0].ToArray().Should().NotEqual(first[0].ToArray());

        // Replies find their way back by the generated id.
        var replyTo = first.GetString(1) == "from a" ? a : b;
        await router.SendAsync(new Message().Append(first[0]).Append("back"));
        (await replyTo.ReceiveWithin()).GetString(0).Should().Be("back");
    }

    [Fact]
    public async Task Router_UnknownIdWithoutMandatory_DropsSilently()
    {
        await using var router = new RouterSocket();

        var sent = await router.TrySendAsync(Message.FromStrings("nobody", "hello"), TimeSpan.Zero);

        sent.Should().BeTrue("libzmq reports success and drops the message");
    }

    [Fact]
    public async Task Router_UnknownIdWithMandatory_ThrowsHostUnreachable()
    {
        await using var router = new RouterSocket(new SocketOptions { RouterMandatory = true });

        var send = async () => await router.SendAsync(Message.FromStrings("nobody", "hello"));

        (await send.Should().ThrowAsync<HostUnreachableException>()).Which.RoutingId.ToArray().Should().Equal("nobody"u8.ToArray());
    }

    [Fact]
    public async Task Router_DuplicateIdentityWithoutHandover_KeepsFirstConnection()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var first = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray() });
        first.Connect(endpoint);
        await first.SendAsync(Message.FromStrings("one"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("one");

        var refused = router.NextEvent(SocketEventKind.HandshakeFailed, e => e.Error == ProtocolError.DuplicateIdentity);
        await using var second = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray() });
        second.Connect(endpoint);
        await refused.Within();

        await router.SendAsync(Message.FromStrings("same", "to first"));
        (await first.ReceiveWithin()).GetString(0).Should().Be("to first");
    }

    [Fact]
    public async Task Router_DuplicateIdentityWithHandover_NewConnectionTakesOver()
    {
        await using var router = new RouterSocket(new SocketOptions { RouterHandover = true });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var first = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray(), Reconnect = false });
        first.Connect(endpoint);
        await first.SendAsync(Message.FromStrings("one"));
        await router.ReceiveWithin();

        await using var second = new DealerSocket(new SocketOptions { RoutingId = "same"u8.ToArray() });
        var firstDropped = first.NextEvent(SocketEventKind.Disconnected);
        second.Connect(endpoint);
        await second.SendAsync(Message.FromStrings("two"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("two");
        await firstDropped.Within();

        await router.SendAsync(Message.FromStrings("same", "to second"));
        (await second.ReceiveWithin()).GetString(0).Should().Be("to second");
    }

    [Fact]
    public async Task Rep_RequestThroughDealerWithEnvelope_ReplyCarriesEnvelope()
    {
        await using var rep = new ReplySocket();
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket();
        dealer.Connect(endpoint);

        await dealer.SendAsync(Message.FromStrings("client-7", string.Empty, "question"));
        var request = await rep.ReceiveWithin();
        request.Count.Should().Be(1);
        request.GetString(0).Should().Be("question");
        await rep.SendAsync(Message.FromStrings("answer"));

        var reply = await dealer.ReceiveWithin();
        reply.Select((_, i) => reply.GetString(i)).Should().Equal("client-7", string.Empty, "answer");
    }

    [Fact]
    public async Task Rep_MessageWithoutDelimiter_Dropped()
    {
        await using var rep = new ReplySocket();
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket();
        dealer.Connect(endpoint);

        await dealer.SendAsync(Message.FromStrings("no delimiter"));
        await dealer.SendAsync(Message.FromStrings(string.Empty, "valid"));

        (await rep.ReceiveWithin()).GetString(0).Should().Be("valid");
    }

    [Fact]
    public async Task Req_RelaxedCorrelate_LateReplyToAbandonedRequestIsDropped()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var req = new RequestSocket(new SocketOptions { RequestRelaxed = true, RequestCorrelate = true });
        req.Connect(endpoint);

        await req.SendAsync(Message.FromStrings("first"));
        var first = await router.ReceiveWithin();
        first.Count.Should().Be(4, "routing id, request id, delimiter, body");
        first[1].Length.Should().Be(4);
        first[2].IsEmpty.Should().BeTrue();

        await req.SendAsync(Message.FromStrings("second"));
        var second = await router.ReceiveWithin();

        // The late reply to the first request arrives before the reply to the second.
        await router.SendAsync(new Message().Append(first[0]).Append(first[1]).AppendEmpty().Append("late"));
        await router.SendAsync(new Message().Append(second[0]).Append(second[1]).AppendEmpty().Append("fresh"));

        (await req.ReceiveWithin()).GetString(0).Should().Be("fresh");
    }

    [Fact]
    public async Task Req_ReplyFromOtherPeer_Ignored()
    {
        await using var first = new RouterSocket();
        await using var second = new RouterSocket();
        await using var req = new RequestSocket();
        var up = new[] { first.NextEvent(SocketEventKind.HandshakeSucceeded), second.NextEvent(SocketEventKind.HandshakeSucceeded) };
        req.Connect(first.Bind("tcp://127.0.0.1:0"));
        req.Connect(second.Bind("tcp://127.0.0.1:0"));
        await Task.WhenAll(up).Within();
        await req.SendAsync(Message.FromStrings("question"));
        var request = await first.ReceiveWithin();

        // The second ROUTER learned the REQ's id from its own connection; a reply from it is not the awaited one.
        var secondId = (await up[1])!.PeerRoutingId;
        await second.SendAsync(new Message().Append(secondId).AppendEmpty().Append("impostor"));
        await first.SendAsync(new Message().Append(request[0]).AppendEmpty().Append("genuine"));

        (await req.ReceiveWithin()).GetString(0).Should().Be("genuine");
    }

    [Fact]
    public async Task Router_PeerDisconnects_EventNamesItsRoutingId()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var up = router.NextEvent(SocketEventKind.HandshakeSucceeded);
        var gone = router.NextEvent(SocketEventKind.Disconnected);
        var dealer = new DealerSocket(new SocketOptions { RoutingId = "worker-7"u8.ToArray() });
        dealer.Connect(endpoint);
        await up.Within();

        await dealer.DisposeAsync();

        var disconnected = await gone.Within();
        disconnected.PeerRoutingId.ToArray().Should().Equal("worker-7"u8.ToArray());
        router.IsConnected("worker-7"u8).Should().BeFalse("the id is routed to nobody any more");
    }

    [Fact]
    public async Task IsConnected_PeerUp_TrueForItsIdOnly()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var up = router.NextEvent(SocketEventKind.HandshakeSucceeded);
        await using var dealer = new DealerSocket(new SocketOptions { RoutingId = "w1"u8.ToArray() });
        dealer.Connect(endpoint);
        await up.Within();

        router.IsConnected("w1"u8).Should().BeTrue();
        router.IsConnected("w2"u8).Should().BeFalse();
    }

    [Fact]
    public async Task Dealer_MultipartEmptyAndLargeFrames_DeliveredIntact()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket();
        dealer.Connect(endpoint);
        var large = new byte[1024 * 1024];
        Random.Shared.NextBytes(large);

        await dealer.SendAsync(new Message().AppendEmpty().Append("x").Append(large).AppendEmpty());
        var received = await router.ReceiveWithin();

        received.Count.Should().Be(5);
        received[1].IsEmpty.Should().BeTrue();
        received.GetString(2).Should().Be("x");
        received[3].ToArray().Should().Equal(large);
        received[4].IsEmpty.Should().BeTrue();
    }

    [Fact]
    public async Task Dealer_ManyMessagesFromTwoPeers_FairQueuedAndNoneLost()
    {
        await using var pull = new DealerSocket();
        string endpoint = pull.Bind("tcp://127.0.0.1:0");
        await using var a = new DealerSocket();
        await using var b = new DealerSocket();
        a.Connect(endpoint);
        b.Connect(endpoint);
        const int PerPeer = 5000;

        var senders = new[] { a, b }.Select((s, n) => Task.Run(async () =>
        {
            for (int i = 0; i < PerPeer; i++)
            {
                await s.SendAsync(Message.FromStrings($"{n}:{i}"));
            }
        })).ToArray();

        var next = new int[2];
        for (int i = 0; i < 2 * PerPeer; i++)
        {
            var parts = (await pull.ReceiveWithin()).GetString(0).Split(':');
            int peer = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture).Should().Be(next[peer]++, "messages of one peer stay in order");
        }

        await Task.WhenAll(senders).Within();
        next.Should().Equal(PerPeer, PerPeer);
    }
}
