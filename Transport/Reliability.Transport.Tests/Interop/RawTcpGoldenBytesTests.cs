using System.Net;
using System.Net.Sockets;
using System.Text;
using Reliability.Testing.PyZmq;

namespace Reliability.Transport.Tests.Interop;

/// <summary>
/// Hand-written ZMTP 3.1 bytes against real libzmq over a plain TCP socket (docs/wire/zmtp.md §16).
/// These pin down what libzmq sends and accepts, independent of our transport.
/// </summary>
public sealed class RawTcpGoldenBytesTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [PyZmqFact]
    public async Task RawDealer_AgainstPyZmqRouter_MatchesCapturedExchange()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var router = await peer.CreateSocketAsync("ROUTER");
        var endpoint = await router.BindAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port(endpoint)).WaitAsync(Wait);
        var stream = tcp.GetStream();

        // libzmq's first 10 octets, sent at once; padding = identity length + 1 (its own is empty).
        (await ReadAsync(stream, 10)).Should().Equal(Hex("ff 00 00 00 00 00 00 00 01 7f"));

        await WriteAsync(stream, Greeting());
        (await ReadAsync(stream, 54)).Should().Equal(Greeting()[10..]);

        // READY as DEALER with Identity "abc": body = 6 + 22 + 16 = 44 octets (0x2c).
        await WriteAsync(stream, Bytes(Hex("04 2c 05"), "READY", Hex("0b"), "Socket-Type", Hex("00 00 00 06"), "DEALER", Hex("08"), "Identity", Hex("00 00 00 03"), "abc"));
        (await ReadAsync(stream, 43)).Should().Equal(
            Bytes(Hex("04 29 05"), "READY", Hex("0b"), "Socket-Type", Hex("00 00 00 06"), "ROUTER", Hex("08"), "Identity", Hex("00 00 00 00")));

        await WriteAsync(stream, Bytes(Hex("01 05"), "hello", Hex("00 00")));
        var received = await router.ReceiveAsync(Wait);
        received.Select(f => Encoding.ASCII.GetString(f)).Should().Equal("abc", "hello", string.Empty);

        await WriteAsync(stream, Bytes(Hex("04 09 04"), "PING", Hex("00 00"), "xy"));
        (await ReadAsync(stream, 9)).Should().Equal(Bytes(Hex("04 07 04"), "PONG", "xy"));

        await router.SendStringsAsync("abc", "world");
        (await ReadAsync(stream, 7)).Should().Equal(Bytes(Hex("00 05"), "world"));
    }

    [PyZmqFact]
    public async Task RawRouter_PyZmqDealerWithIdentityConnects_SendsGreetingAndReadyWithIdentity()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var peer = await PyZmqPeer.StartAsync();
        var dealer = await peer.CreateSocketAsync("DEALER", new PeerSocketOptions { RoutingId = "abc"u8.ToArray() });
        await dealer.ConnectAsync($"tcp://127.0.0.1:{port}");
        using var tcp = await listener.AcceptTcpClientAsync().WaitAsync(Wait);
        var stream = tcp.GetStream();

        // Padding carries identity length + 1 = 4, big-endian.
        (await ReadAsync(stream, 10)).Should().Equal(Hex("ff 00 00 00 00 00 00 00 04 7f"));
        await WriteAsync(stream, Greeting());
        (await ReadAsync(stream, 54)).Should().Equal(Greeting()[10..]);
        (await ReadAsync(stream, 46)).Should().Equal(
            Bytes(Hex("04 2c 05"), "READY", Hex("0b"), "Socket-Type", Hex("00 00 00 06"), "DEALER", Hex("08"), "Identity", Hex("00 00 00 03"), "abc"));
        await WriteAsync(stream, Bytes(Hex("04 29 05"), "READY", Hex("0b"), "Socket-Type", Hex("00 00 00 06"), "ROUTER", Hex("08"), "Identity", Hex("00 00 00 00")));

        // A message queued before the handshake is delivered after it, DEALER adds no envelope.
        await dealer.SendStringsAsync(string.Empty, "hi");
        (await ReadAsync(stream, 6)).Should().Equal(Bytes(Hex("01 00 00 02"), "hi"));

        // A long frame (LONG flag, 8-octet size) for a 300-octet body.
        var big = new byte[300];
        big.AsSpan().Fill(0x5A);
        await WriteAsync(stream, Bytes(Hex("02 00 00 00 00 00 00 01 2c"), big));
        var reply = await dealer.ReceiveAsync(Wait);
        reply.Should().ContainSingle().Which.Should().Equal(big);
    }

    [PyZmqFact]
    public async Task RawRouter_NeverAnswersLibZmqPing_LibZmqDropsLinkAfterHeartbeatTimeout()
    {
        // The premise of RoutingInteropTests.Heartbeat_*: without PONGs libzmq really does hang up.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var peer = await PyZmqPeer.StartAsync();
        var extra = new Dictionary<string, string> { ["HEARTBEAT_IVL"] = "50", ["HEARTBEAT_TIMEOUT"] = "250" };
        var dealer = await peer.CreateSocketAsync("DEALER", new PeerSocketOptions { Extra = extra });
        await dealer.StartMonitorAsync();
        await dealer.ConnectAsync($"tcp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        using var tcp = await listener.AcceptTcpClientAsync().WaitAsync(Wait);
        var stream = tcp.GetStream();
        await ReadAsync(stream, 10);
        await WriteAsync(stream, Greeting());
        await ReadAsync(stream, 54 + 43);
        await WriteAsync(stream, Bytes(Hex("04 29 05"), "READY", Hex("0b"), "Socket-Type", Hex("00 00 00 06"), "ROUTER", Hex("08"), "Identity", Hex("00 00 00 00")));

        // libzmq's PING: TTL 0 (HEARTBEAT_TTL unset), empty context.
        (await ReadAsync(stream, 9)).Should().Equal(Bytes(Hex("04 07 04"), "PING", Hex("00 00")));
        var dropped = await dealer.WaitForEventAsync(Wait, "DISCONNECTED");

        dropped.Kind.Should().Be("DISCONNECTED");
    }

    private static byte[] Greeting()
    {
        var greeting = new byte[64];
        greeting[0] = 0xFF;
        greeting[9] = 0x7F;
        greeting[10] = 3;
        greeting[11] = 1;
        "NULL"u8.CopyTo(greeting.AsSpan(12));
        return greeting;
    }

    private static int Port(string endpoint) => int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", string.Empty, StringComparison.Ordinal));

    private static byte[] Bytes(params object[] parts) =>
        parts.SelectMany(p => p switch
        {
            string s => Encoding.ASCII.GetBytes(s),
            byte[] b => b,
            _ => throw new ArgumentException("string or byte[] only", nameof(parts)),
        }).ToArray();

    private static async Task WriteAsync(NetworkStream stream, byte[] bytes)
    {
        using var cts = new CancellationTokenSource(Wait);
        await stream.WriteAsync(bytes, cts.Token);
    }

    private static async Task<byte[]> ReadAsync(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(Wait);
        await stream.ReadExactlyAsync(buffer, cts.Token);
        return buffer;
    }
}
