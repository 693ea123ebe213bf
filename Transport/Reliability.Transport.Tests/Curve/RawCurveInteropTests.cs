using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Reliability.Testing.PyZmq;
using Reliability.Transport.Curve;
using Reliability.Transport.Tests.Interop;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Tests.Curve;

/// <summary>
/// Our CURVE state machines over a hand-driven TCP connection against real libzmq (pyzmq) CURVE sockets:
/// byte compatibility of every handshake box and of MESSAGE, independent of the socket layer (docs/wire/curve.md §6).
/// </summary>
public sealed class RawCurveInteropTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [PyZmqFact]
    public async Task OurClient_AgainstLibZmqCurveRep_CompletesHandshakeAndRequestReply()
    {
        Keys server = new(), client = new();
        await using var peer = await PyZmqPeer.StartAsync();
        var rep = await peer.CreateSocketAsync("REP", new PeerSocketOptions
        {
            Extra = new Dictionary<string, string> { ["CURVE_SERVER"] = "1", ["CURVE_SECRETKEY"] = Convert.ToHexString(server.Secret) },
        });
        string endpoint = await rep.BindAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port(endpoint)).WaitAsync(Wait);
        var stream = tcp.GetStream();

        await WriteAsync(stream, Greeting(asServer: false));
        var greeting = await ReadExactlyAsync(stream, 64);
        Encoding.ASCII.GetString(greeting, 12, 5).Should().Be("CURVE");

        using var curve = new CurveClient(server.Public, client.Public, client.Secret, Commands.BuildMetadata("REQ", [], includeIdentity: false));
        await WriteFrameAsync(stream, curve.CreateHello(), command: true);
        var welcome = await ReadFrameAsync(stream);
        welcome.Command.Should().BeTrue();
        await WriteFrameAsync(stream, curve.ProcessWelcome(welcome.Body), command: true);
        var ready = await ReadFrameAsync(stream);
        Commands.ParseReady(curve.ProcessReady(ready.Body), out _)!.SocketType.Should().Be("REP");

        // Each frame of the request travels as its own MESSAGE; MORE rides inside the box.
        await WriteFrameAsync(stream, curve.Encode([], more: true, command: false), command: false);
        await WriteFrameAsync(stream, curve.Encode("hello"u8, more: false, command: false), command: false);
        (await rep.ReceiveAsync(Wait)).Select(f => Encoding.ASCII.GetString(f)).Should().Equal("hello");

        await rep.SendStringsAsync("world");
        var delimiter = await ReadFrameAsync(stream);
        delimiter.Command.Should().BeFalse("libzmq sends MESSAGE as a plain data frame");
        var first = curve.Decode(delimiter.Body);
        (first.More, first.Payload.Length).Should().Be((true, 0));
        var body = curve.Decode((await ReadFrameAsync(stream)).Body);
        Encoding.ASCII.GetString(body.Payload.Span).Should().Be("world");
        body.More.Should().BeFalse();
    }

    [PyZmqFact]
    public async Task LibZmqCurveReq_AgainstOurServer_IsAuthenticatedAndGetsTheReply()
    {
        Keys server = new(), client = new();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var peer = await PyZmqPeer.StartAsync();
        var req = await peer.CreateSocketAsync("REQ", ClientOptions(server.Public, client));
        await req.ConnectAsync($"tcp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        using var tcp = await listener.AcceptTcpClientAsync().WaitAsync(Wait);
        var stream = tcp.GetStream();

        await WriteAsync(stream, Greeting(asServer: true));
        var greeting = await ReadExactlyAsync(stream, 64);
        Encoding.ASCII.GetString(greeting, 12, 5).Should().Be("CURVE");
        greeting[32].Should().Be(0, "a CURVE client greets with as-server 0");

        using var curve = new CurveServer(server.Public, server.Secret, Commands.BuildMetadata("REP", [], includeIdentity: false));
        var hello = await ReadFrameAsync(stream);
        hello.Body.Length.Should().Be(CurveClient.HelloLength);
        await WriteFrameAsync(stream, curve.ProcessHello(hello.Body), command: true);
        var initiate = curve.ProcessInitiate((await ReadFrameAsync(stream)).Body);
        initiate.ClientPublicKey.Should().Equal(client.Public);
        Commands.ParseReady(initiate.Metadata, out _)!.SocketType.Should().Be("REQ");
        await WriteFrameAsync(stream, curve.CreateReady(), command: true);

        await req.SendStringsAsync("ping");
        var delimiter = curve.Decode((await ReadFrameAsync(stream)).Body);
        (delimiter.More, delimiter.Payload.Length).Should().Be((true, 0));
        Encoding.ASCII.GetString(curve.Decode((await ReadFrameAsync(stream)).Body).Payload.Span).Should().Be("ping");

        await WriteFrameAsync(stream, curve.Encode([], more: true, command: false), command: false);
        await WriteFrameAsync(stream, curve.Encode("pong"u8, more: false, command: false), command: false);
        (await req.ReceiveAsync(Wait)).Select(f => Encoding.ASCII.GetString(f)).Should().Equal("pong");
    }

    [PyZmqFact]
    public async Task LibZmqClientWithWrongServerKey_IsRefusedAtHello()
    {
        Keys server = new(), client = new(), other = new();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var peer = await PyZmqPeer.StartAsync();
        var req = await peer.CreateSocketAsync("REQ", ClientOptions(other.Public, client));
        await req.ConnectAsync($"tcp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        using var tcp = await listener.AcceptTcpClientAsync().WaitAsync(Wait);
        var stream = tcp.GetStream();
        await WriteAsync(stream, Greeting(asServer: true));
        await ReadExactlyAsync(stream, 64);

        using var curve = new CurveServer(server.Public, server.Secret, Commands.BuildMetadata("REP", [], includeIdentity: false));
        var hello = await ReadFrameAsync(stream);
        FluentActions.Invoking(() => curve.ProcessHello(hello.Body))
            .Should().Throw<ProtocolException>().Which.Error.Should().Be(ProtocolError.CryptographicFailure);
    }

    private static PeerSocketOptions ClientOptions(byte[] serverKey, Keys client) => new()
    {
        Extra = new Dictionary<string, string>
        {
            ["CURVE_SERVERKEY"] = Convert.ToHexString(serverKey),
            ["CURVE_PUBLICKEY"] = Convert.ToHexString(client.Public),
            ["CURVE_SECRETKEY"] = Convert.ToHexString(client.Secret),
        },
    };

    internal static byte[] Greeting(bool asServer)
    {
        var greeting = RawPeer.Greeting("CURVE");
        greeting[32] = asServer ? (byte)1 : (byte)0;
        return greeting;
    }

    internal static async Task WriteFrameAsync(NetworkStream stream, byte[] body, bool command)
    {
        int header = FrameHeader.LengthFor(body.Length);
        var frame = new byte[header + body.Length];
        FrameHeader.Write(frame, body.Length, more: false, command);
        body.CopyTo(frame, header);
        await WriteAsync(stream, frame);
    }

    internal static async Task<(bool Command, byte[] Body)> ReadFrameAsync(NetworkStream stream)
    {
        byte flags = (await ReadExactlyAsync(stream, 1))[0];
        bool isLong = (flags & 0x02) != 0;
        var size = await ReadExactlyAsync(stream, isLong ? 8 : 1);
        long length = isLong ? BinaryPrimitives.ReadInt64BigEndian(size) : size[0];
        length.Should().BeLessThan(1 << 20);
        return ((flags & 0x04) != 0, await ReadExactlyAsync(stream, (int)length));
    }

    internal static async Task WriteAsync(NetworkStream stream, byte[] bytes) =>
        await stream.WriteAsync(bytes).AsTask().WaitAsync(Wait);

    internal static async Task<byte[]> ReadExactlyAsync(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Wait);
        return buffer;
    }

    private static int Port(string endpoint) => int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
}
