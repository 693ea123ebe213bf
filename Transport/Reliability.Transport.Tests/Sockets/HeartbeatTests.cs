namespace Reliability.Transport.Tests.Sockets;

/// <summary>ZMTP 3.1 PING/PONG heartbeats (docs/wire/zmtp.md §9) and TCP keepalive options.</summary>
[Collection(ExclusiveCollection.Name)]
public sealed class HeartbeatTests
{
    [Fact]
    public async Task Heartbeat_SilentPeer_SendsPingThenDropsConnection()
    {
        await using var router = new RouterSocket(new SocketOptions
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(150),
        });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var dropped = router.NextEvent(SocketEventKind.Disconnected);
        using var silent = await RawPeer.ConnectAsync(endpoint);
        await silent.HandshakeAsync("DEALER");

        // libzmq's PING: 04 07 04 "PING" ttl=00 00, no context.
        (await silent.ReadAsync(9)).Should().Equal(0x04, 0x07, 0x04, (byte)'P', (byte)'I', (byte)'N', (byte)'G', 0x00, 0x00);

        (await dropped.Within()).Exception.Should().NotBeNull();
        await silent.WaitForCloseAsync();
    }

    [Fact]
    public async Task Heartbeat_AnsweringPeer_ConnectionStaysUp()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(new SocketOptions
        {
            RoutingId = "hb"u8.ToArray(),
            HeartbeatInterval = TimeSpan.FromMilliseconds(20),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(2000),
        });
        int disconnects = 0;
        dealer.EventRaised += (_, e) =>
        {
            if (e.Kind == SocketEventKind.Disconnected)
            {
                Interlocked.Increment(ref disconnects);
            }
        };
        dealer.Connect(endpoint);

        // Round trips spanning many heartbeat intervals: PINGs go out and PONGs keep the link alive.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 100_000 && clock.Elapsed < TimeSpan.FromMilliseconds(300); i++)
        {
            await dealer.SendAsync(Message.FromStrings($"r{i}"));
            var request = await router.ReceiveWithin();
            await router.SendAsync(request);
            (await dealer.ReceiveWithin()).GetString(0).Should().Be($"r{i}");
        }

        Volatile.Read(ref disconnects).Should().Be(0);
    }

    [Fact]
    public async Task Heartbeat_PeerPingWithTtlThenSilence_ConnectionDropped()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var dropped = router.NextEvent(SocketEventKind.Disconnected);
        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.HandshakeAsync("DEALER");

        // TTL 2 deciseconds: "if you hear nothing from me for 200 ms, drop me". Our socket has its own
        // heartbeats off, and still watches the TTL the peer announced.
        await peer.SendAsync([0x04, 0x07, 0x04, (byte)'P', (byte)'I', (byte)'N', (byte)'G', 0x00, 0x02]);
        (await peer.ReadAsync(7)).Should().Equal(0x04, 0x05, 0x04, (byte)'P', (byte)'O', (byte)'N', (byte)'G');

        await dropped.Within();
    }

    [Fact]
    public async Task KeepAliveOptions_Applied_ConnectionWorks()
    {
        var options = new SocketOptions
        {
            TcpKeepAlive = true,
            TcpKeepAliveIdle = TimeSpan.FromSeconds(30),
            TcpKeepAliveInterval = TimeSpan.FromSeconds(5),
            TcpKeepAliveCount = 3,
        };
        await using var router = new RouterSocket(options);
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(options);
        dealer.Connect(endpoint);

        await dealer.SendAsync(Message.FromStrings("alive"));

        (await router.ReceiveWithin()).GetString(1).Should().Be("alive");
    }

    [Fact]
    public void Options_InvalidHeartbeatAndKeepAlive_Rejected()
    {
        var create = () => new DealerSocket(new SocketOptions
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(-1),
            HeartbeatTtl = TimeSpan.FromHours(3),
            TcpKeepAliveCount = 0,
        });

        create.Should().Throw<ArgumentException>().WithMessage("*HeartbeatInterval*").WithMessage("*HeartbeatTtl*").WithMessage("*TcpKeepAliveCount*");
    }
}
