using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Reliability.Transport.Tests.Zmtp;

/// <summary>
/// The ZMTP/2.0 (RFC 15) and ZMTP/1.0 (RFC 13) handshakes and framing, octet by octet, with our
/// socket accepting and connecting (docs/wire/zmtp.md §17). The raw side plays the old peer.
/// </summary>
public sealed class LegacyGoldenBytesTests
{
    /// <summary>Our signature when we announce no identity: padding = identity length + 1.</summary>
    private static readonly byte[] OurSignature = Hex("ff 00 00 00 00 00 00 00 01 7f");

    /// <summary>A ZMTP/2.0 peer's signature as libzmq 3.2 and JeroMQ 0.3 write it (empty identity).</summary>
    private static readonly byte[] TheirSignature = Hex("ff 00 00 00 00 00 00 00 01 7f");

    [Fact]
    public async Task Zmtp2_Accepting_RepAgainstAReq_SpeaksRfc15()
    {
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero });
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        using var peer = await RawPeer.ConnectAsync(endpoint);

        await peer.SendAsync(TheirSignature);
        (await peer.ReadAsync(10)).Should().Equal(OurSignature);
        (await peer.ReadAsync(1)).Should().Equal([0x03], "our major version follows once the peer's signature is in");

        await peer.SendAsync(Hex("01 03"), Hex("00 00"));
        (await peer.ReadAsync(3)).Should().Equal(Hex("04 00 00"), "revision 1 gets our socket type (REP = 4) and an empty identity frame");

        // The request: empty delimiter with MORE, then "hello"; 2.0 framing is 3.x framing.
        await peer.SendAsync(Bytes(Hex("01 00 00 05"), "hello"));
        (await rep.ReceiveWithin()).GetString(0).Should().Be("hello");
        await rep.SendAsync(Message.FromStrings("world"));
        (await peer.ReadAsync(9)).Should().Equal(Bytes(Hex("01 00 00 05"), "world"));
    }

    [Fact]
    public async Task Zmtp2_HeartbeatsConfigured_NoPingEverReachesTheOldPeer()
    {
        // PING is a 3.1 command: sent to a 2.0 peer it would corrupt the stream, and, unanswered,
        // close the connection after HeartbeatTimeout. Every octet of 20 replies is checked.
        await using var rep = new ReplySocket(new SocketOptions
        {
            Linger = TimeSpan.Zero,
            HeartbeatInterval = TimeSpan.FromMilliseconds(5),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(5),
        });
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.SendAsync(TheirSignature);
        (await peer.ReadAsync(11)).Should().Equal([.. OurSignature, 0x03]);
        await peer.SendAsync(Hex("01 03 00 00"));
        (await peer.ReadAsync(3)).Should().Equal(Hex("04 00 00"));

        for (int i = 0; i < 20; i++)
        {
            await peer.SendAsync(Bytes(Hex("01 00 00 05"), "hello"));
            (await rep.ReceiveWithin()).GetString(0).Should().Be("hello");
            await rep.SendAsync(Message.FromStrings("world"));
            (await peer.ReadAsync(9)).Should().Equal(Bytes(Hex("01 00 00 05"), "world"), $"reply {i} comes alone, with no command before it");
        }
    }

    [Fact]
    public async Task Zmtp2_Connecting_DealerWithRoutingId_SendsIdentityFrameAndLongFrames()
    {
        using var listener = Listen(out string endpoint);
        await using var dealer = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero, RoutingId = "D1"u8.ToArray() });
        dealer.Connect(endpoint);
        using var peer = await AcceptAsync(listener);
        var stream = peer.GetStream();

        (await ReadAsync(stream, 10)).Should().Equal(Hex("ff 00 00 00 00 00 00 00 03 7f"), "padding = length of our identity \"D1\" + 1");
        await stream.WriteAsync(TheirSignature);
        (await ReadAsync(stream, 1)).Should().Equal([0x03]);
        await stream.WriteAsync(Hex("01 06 00 00"));
        (await ReadAsync(stream, 5)).Should().Equal(Bytes(Hex("05 00 02"), "D1"), "DEALER = 5, identity frame \"D1\"");

        await dealer.SendAsync(new Message().AppendEmpty().Append(new byte[300]));
        (await ReadAsync(stream, 2 + 9 + 300)).Should().Equal([.. Hex("01 00 02 00 00 00 00 00 00 01 2c"), .. new byte[300]]);

        await stream.WriteAsync(Bytes(Hex("00 03"), "ack"));
        (await dealer.ReceiveWithin()).GetString(0).Should().Be("ack");
    }

    [Fact]
    public async Task Zmtp1Unversioned_Accepting_PullReadsRfc13Frames()
    {
        await using var pull = new PullSocket(new SocketOptions { Linger = TimeSpan.Zero });
        using var peer = await ConnectAsZmtp1Async(pull);

        await peer.SendAsync(
            Bytes(Hex("06 00"), "hello"),
            Bytes(Hex("02 01"), "a", Hex("02 00"), "b"),
            [.. Hex("ff 00 00 00 00 00 00 01 2d 00"), .. new byte[300]]);
        (await pull.ReceiveWithin()).GetString(0).Should().Be("hello");
        var two = await pull.ReceiveWithin();
        (two.GetString(0), two.GetString(1)).Should().Be(("a", "b"));
        (await pull.ReceiveWithin())[0].Length.Should().Be(300, "the long form: length 301 counts the flags octet");
    }

    [Fact]
    public async Task Zmtp1Unversioned_Connecting_PushWritesRfc13Frames()
    {
        using var listener = Listen(out string endpoint);
        await using var push = new PushSocket(new SocketOptions { Linger = TimeSpan.Zero });
        var ready = push.NextEvent(SocketEventKind.HandshakeSucceeded);
        push.Connect(endpoint);
        using var peer = await AcceptAsync(listener);
        var stream = peer.GetStream();

        await stream.WriteAsync(Bytes(Hex("04 00"), "old"));
        (await ReadAsync(stream, 10)).Should().Equal(OurSignature);
        await ready.Within();

        await push.SendAsync(Message.FromStrings("hello", "x"));
        await push.SendAsync(new Message().Append(new byte[300]));
        (await ReadAsync(stream, 7 + 3)).Should().Equal(Bytes(Hex("06 01"), "hello", Hex("02 00"), "x"));
        (await ReadAsync(stream, 10 + 300)).Should().Equal([.. Hex("ff 00 00 00 00 00 00 01 2d 00"), .. new byte[300]]);
    }

    [Fact]
    public async Task Zmtp1Unversioned_Subscriber_GetsEverythingWithoutSubscribing()
    {
        await using var pub = new PublisherSocket(new SocketOptions { Linger = TimeSpan.Zero });
        using var peer = await ConnectAsZmtp1Async(pub);

        await pub.SendAsync(Message.FromStrings("news"));
        (await peer.ReadAsync(6)).Should().Equal(Bytes(Hex("05 00"), "news"), "a 2.x subscriber filters by itself, as libzmq 4 assumes");
    }

    [Fact]
    public async Task Zmtp1WithRevision_Accepting_RepAnswersIn10Framing()
    {
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero });
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        using var peer = await RawPeer.ConnectAsync(endpoint);

        await peer.SendAsync(TheirSignature);
        (await peer.ReadAsync(11)).Should().Equal([.. OurSignature, 0x03]);
        await peer.SendAsync(Hex("00 03"));
        (await peer.ReadAsync(3)).Should().Equal(Hex("04 01 00"), "revision 0: socket type, then the identity frame in 1.0 framing");

        await peer.SendAsync(Hex("01 00"), Hex("01 01"), Bytes(Hex("06 00"), "hello"));
        (await rep.ReceiveWithin()).GetString(0).Should().Be("hello");
        await rep.SendAsync(Message.FromStrings("world"));
        (await peer.ReadAsync(9)).Should().Equal(Bytes(Hex("01 01 06 00"), "world"));
    }

    /// <summary>Binds <paramref name="socket"/> and connects a libzmq 2.x peer to it, up to the end of the handshake.</summary>
    private static async Task<RawPeer> ConnectAsZmtp1Async(ZmqSocket socket)
    {
        string endpoint = socket.Bind("tcp://127.0.0.1:0");
        var ready = socket.NextEvent(SocketEventKind.HandshakeSucceeded);
        var peer = await RawPeer.ConnectAsync(endpoint);

        // Its identity frame (length 1 = flags only, empty identity) and no signature.
        await peer.SendAsync(Hex("01 00"));
        (await peer.ReadAsync(10)).Should().Equal(OurSignature, "to a 1.0 peer our signature is the long header of our (empty) identity frame");
        await ready.Within();
        return peer;
    }

    private static TcpListener Listen(out string endpoint)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        endpoint = $"tcp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        return listener;
    }

    private static async Task<TcpClient> AcceptAsync(TcpListener listener) =>
        await listener.AcceptTcpClientAsync().WaitAsync(TestTimeouts.Long);

    private static async Task<byte[]> ReadAsync(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TestTimeouts.Long);
        return buffer;
    }

    private static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", string.Empty, StringComparison.Ordinal));

    private static byte[] Bytes(params object[] parts) =>
        parts.SelectMany(p => p is string s ? Encoding.ASCII.GetBytes(s) : (byte[])p).ToArray();
}
