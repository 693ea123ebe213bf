namespace Reliability.Transport.Tests.Sockets;

public sealed class PubSubTests
{
    /// <summary>Publishes <paramref name="text"/> until the subscriber sees it (subscriptions travel asynchronously: the slow joiner).</summary>
    internal static async Task<Message> PublishUntilReceivedAsync(ZmqSocket publisher, ZmqSocket subscriber, string text)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            await publisher.SendAsync(Message.FromStrings(text)).AsTask().Within();
            var received = await subscriber.TryReceiveAsync(TimeSpan.FromMilliseconds(50));
            if (received is not null)
            {
                return received;
            }
        }

        throw new TimeoutException($"'{text}' never reached the subscriber");
    }

    [Fact]
    public async Task Subscribe_Prefix_DeliversOnlyMatchingMessages()
    {
        await using var xpub = new XPublisherSocket();
        string endpoint = xpub.Bind("tcp://127.0.0.1:0");
        await using var sub = new SubscriberSocket();
        sub.Subscribe("A");
        sub.Connect(endpoint);

        var notice = await xpub.ReceiveWithin();
        notice[0].ToArray().Should().Equal((byte)1, (byte)'A');

        await xpub.SendAsync(Message.FromStrings("B-ignored"));
        await xpub.SendAsync(Message.FromStrings("A-1", "second frame"));
        var received = await sub.ReceiveWithin();
        received.GetString(0).Should().Be("A-1");
        received.GetString(1).Should().Be("second frame", "multipart messages travel whole");
        (await sub.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull();
    }

    [Fact]
    public async Task XPub_TwoSubscribersSameTopic_NotifiesFirstSubscribeAndLastCancelOnly()
    {
        await using var xpub = new XPublisherSocket();
        string endpoint = xpub.Bind("tcp://127.0.0.1:0");
        await using var first = new SubscriberSocket();
        await using var second = new SubscriberSocket();
        first.Subscribe("T");
        first.Connect(endpoint);
        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'T');

        second.Subscribe("T");
        second.Connect(endpoint);

        // Once the second subscriber receives a publication, its subscription is registered at the XPUB.
        await PublishUntilReceivedAsync(xpub, second, "T-sync");
        first.Unsubscribe("T").Should().BeTrue();
        second.Unsubscribe("T").Should().BeTrue();

        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)0, (byte)'T');
        (await xpub.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull("the second subscribe was not the first for its topic");
    }

    [Fact]
    public async Task XPub_Verbose_NotifiesEverySubscribe()
    {
        await using var xpub = new XPublisherSocket(new SocketOptions { XPubVerbose = true });
        string endpoint = xpub.Bind("tcp://127.0.0.1:0");
        await using var sub = new SubscriberSocket();
        var up = sub.NextEvent(SocketEventKind.HandshakeSucceeded);
        sub.Connect(endpoint);
        await up.Within();
        sub.Subscribe("V");
        sub.Subscribe("V");

        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'V');
        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'V');
    }

    [Fact]
    public async Task Subscriber_PublisherRestarts_ResubscribesAutomatically()
    {
        var xpub = new XPublisherSocket();
        string endpoint = xpub.Bind("tcp://127.0.0.1:0");
        await using var sub = new SubscriberSocket(new SocketOptions { ReconnectInterval = TimeSpan.FromMilliseconds(20) });
        sub.Subscribe("news");
        sub.Connect(endpoint);
        await xpub.ReceiveWithin();
        var lost = sub.NextEvent(SocketEventKind.Disconnected);
        await xpub.DisposeAsync();
        await lost.Within();

        await using var restarted = new XPublisherSocket();
        restarted.Bind(endpoint);

        (await restarted.ReceiveWithin())[0].ToArray().Should().Equal([1, .. "news"u8.ToArray()]);
        await restarted.SendAsync(Message.FromStrings("news: back"));
        (await sub.ReceiveWithin()).GetString(0).Should().Be("news: back");
    }

    [Fact]
    public async Task XSub_SubscriptionMessage_ReachesPublisher()
    {
        await using var pub = new PublisherSocket();
        string endpoint = pub.Bind("tcp://127.0.0.1:0");
        await using var xsub = new XSubscriberSocket();
        xsub.Connect(endpoint);
        await xsub.SendAsync(Message.FromFrames([1, (byte)'k']));

        var received = await PublishUntilReceivedAsync(pub, xsub, "k-value");

        received.GetString(0).Should().Be("k-value");
    }

    [Fact]
    public async Task Publisher_SlowSubscriberAtHighWaterMark_DropsInsteadOfBlocking()
    {
        await using var xpub = new XPublisherSocket(new SocketOptions { SendHighWaterMark = 10 });
        string endpoint = xpub.Bind("tcp://127.0.0.1:0");
        using var stalled = await RawPeer.ConnectAsync(endpoint);
        await stalled.HandshakeAsync("SUB");
        await stalled.SendAsync([0x00, 0x01, 0x01]);
        await xpub.ReceiveWithin();

        // The raw subscriber never reads: sends must keep completing at once.
        var payload = new byte[64 * 1024];
        for (int i = 0; i < 2000; i++)
        {
            (await xpub.TrySendAsync(new Message().Append(payload), TimeSpan.Zero)).Should().BeTrue();
        }
    }

    [Fact]
    public async Task Publisher_SubscribeCommandAnd30Message_BothAccepted()
    {
        await using var xpub = new XPublisherSocket();
        string endpoint = xpub.Bind("tcp://127.0.0.1:0");
        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.HandshakeAsync("SUB");

        // 3.1 command "SUBSCRIBE A" (docs/wire/zmtp.md §10: 04 0B 09 'SUBSCRIBE' 41), then the 3.0 message form 00 02 01 42.
        await peer.SendAsync([0x04, 0x0B, 0x09, .. "SUBSCRIBE"u8.ToArray(), 0x41], [0x00, 0x02, 0x01, 0x42]);

        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'A');
        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal((byte)1, (byte)'B');
    }

    [Fact]
    public async Task Subscriber_ToZmtp31Peer_SendsSubscribeCommand()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        await using var sub = new SubscriberSocket();
        sub.Subscribe("A");
        sub.Connect($"tcp://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}");
        using var accepted = await listener.AcceptTcpClientAsync().Within();
        var stream = accepted.GetStream();
        await stream.WriteAsync(RawPeer.Greeting());
        await stream.WriteAsync(RawPeer.Ready("PUB"));

        var buffer = new byte[64 + 2];
        await stream.ReadExactlyAsync(buffer).AsTask().Within();
        var ready = new byte[buffer[65]];
        await stream.ReadExactlyAsync(ready).AsTask().Within();
        var subscribe = new byte[13];
        await stream.ReadExactlyAsync(subscribe).AsTask().Within();

        subscribe.Should().Equal([0x04, 0x0B, 0x09, .. "SUBSCRIBE"u8.ToArray(), 0x41]);
    }

    [Fact]
    public async Task Pair_SecondPeer_RefusedWhileFirstConnected()
    {
        await using var server = new PairSocket();
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        await using var first = new PairSocket();
        first.Connect(endpoint);
        await first.SendAsync(Message.FromStrings("ping"));
        (await server.ReceiveWithin()).GetString(0).Should().Be("ping");

        var refused = server.NextEvent(SocketEventKind.HandshakeFailed, e => e.Error == ProtocolError.PeerRefused);
        await using var second = new PairSocket(new SocketOptions { Linger = TimeSpan.Zero });
        second.Connect(endpoint);
        await refused.Within();

        await server.SendAsync(Message.FromStrings("pong"));
        (await first.ReceiveWithin()).GetString(0).Should().Be("pong");
    }

    [Fact]
    public async Task Sub_Send_NotSupported()
    {
        await using var sub = new SubscriberSocket();
        await using var pub = new PublisherSocket();

        await sub.Awaiting(s => s.SendAsync(Message.FromStrings("x")).AsTask()).Should().ThrowAsync<NotSupportedException>();
        await pub.Awaiting(p => p.ReceiveAsync().AsTask()).Should().ThrowAsync<NotSupportedException>();
    }
}
