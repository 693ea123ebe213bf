using System.Text;
using Reliability.Testing.PyZmq;
using Reliability.Transport.Tests.Interop;

namespace Reliability.Transport.Tests.Sockets;

/// <summary>CURVE selected by socket options (docs/wire/curve.md): our sockets with each other and with libzmq 4.3.4.</summary>
public sealed class CurveTests
{
    private static readonly CurveKeyPair ServerKeys = CurveKeyPair.Generate();
    private static readonly CurveKeyPair ClientKeys = CurveKeyPair.Generate();

    private static SocketOptions Server() =>
        new() { CurveServer = true, CurveSecretKey = ServerKeys.SecretKey, Linger = TimeSpan.Zero };

    private static SocketOptions Client(string serverKey) =>
        new() { CurveSecretKey = ClientKeys.SecretKey, CurvePublicKey = ClientKeys.PublicKey, CurveServerKey = serverKey, Linger = TimeSpan.Zero };

    private static string Hex(string z85) => Convert.ToHexString(Z85.Decode(z85));

    [Fact]
    public async Task Curve_OurReqToOurRep_MultipartAndLargeFramesRoundTrip()
    {
        await using var rep = new ReplySocket(Server());
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        await using var req = new RequestSocket(Client(ServerKeys.PublicKey));
        req.Connect(endpoint);

        var large = new byte[200_000];
        Random.Shared.NextBytes(large);
        await req.SendAsync(Message.FromFrames([Encoding.ASCII.GetBytes("head"), large]));
        var request = await rep.ReceiveWithin();
        request.GetString(0).Should().Be("head");
        request[1].ToArray().Should().Equal(large);

        await rep.SendAsync(Message.FromStrings("reply", string.Empty, "end"));
        var reply = await req.ReceiveWithin();
        (reply.GetString(0), reply.GetString(1), reply.GetString(2)).Should().Be(("reply", string.Empty, "end"));
    }

    [Fact]
    public async Task Curve_ClientWithWrongServerKey_RefusedAtHello()
    {
        await using var rep = new ReplySocket(Server());
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        var refused = rep.NextEvent(SocketEventKind.HandshakeFailed);
        await using var req = new RequestSocket(Client(CurveKeyPair.Generate().PublicKey));
        req.Connect(endpoint);

        (await refused.Within()).Error.Should().Be(ProtocolError.CryptographicFailure);
    }

    [Fact]
    public async Task Curve_NullClientToCurveServer_MechanismMismatch()
    {
        await using var rep = new ReplySocket(Server());
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        var failed = rep.NextEvent(SocketEventKind.HandshakeFailed);
        await using var req = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
        req.Connect(endpoint);

        (await failed.Within()).Error.Should().Be(ProtocolError.MechanismMismatch);
    }

    [Theory]
    [InlineData(true, null, "notakey", "CurveSecretKey")]
    [InlineData(false, null, null, "CurveServerKey must be")]
    [InlineData(true, "server", null, "CurveServerKey is for clients")]
    public void Validate_BadCurveSettings_NameTheProblem(bool server, string? serverKey, string? secret, string expected)
    {
        var options = new SocketOptions
        {
            CurveServer = server,
            CurveSecretKey = secret ?? ClientKeys.SecretKey,
            CurveServerKey = serverKey is null ? null : ServerKeys.PublicKey,
        };
        FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>().WithMessage($"*{expected}*");
    }

    [Fact]
    public void Validate_PublicKeyOfAnotherPair_IsRefused() =>
        FluentActions.Invoking(new SocketOptions { CurveServer = true, CurveSecretKey = ServerKeys.SecretKey, CurvePublicKey = ClientKeys.PublicKey }.Validate)
            .Should().Throw<ArgumentException>().WithMessage("*does not belong*");

    [PyZmqFact]
    public async Task Curve_OurReqToLibzmqRep_Served()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var rep = await peer.CreateSocketAsync("REP", new PeerSocketOptions
        {
            Extra = new Dictionary<string, string> { ["CURVE_SERVER"] = "1", ["CURVE_SECRETKEY"] = Hex(ServerKeys.SecretKey) },
        });
        string endpoint = await rep.BindAsync();
        await using var req = new RequestSocket(Client(ServerKeys.PublicKey));
        req.Connect(endpoint);

        await req.SendAsync(Message.FromStrings("to libzmq", "over CURVE"));
        (await rep.ReceiveAsync(TestTimeouts.Long)).Select(f => Encoding.ASCII.GetString(f)).Should().Equal("to libzmq", "over CURVE");
        await rep.SendStringsAsync("from libzmq");
        (await req.ReceiveWithin()).GetString(0).Should().Be("from libzmq");
    }

    [PyZmqFact]
    public async Task Curve_LibzmqReqToOurRep_Served()
    {
        await using var rep = new ReplySocket(Server());
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        await using var peer = await PyZmqPeer.StartAsync();
        var req = await peer.CreateSocketAsync("REQ", new PeerSocketOptions
        {
            Extra = new Dictionary<string, string>
            {
                ["CURVE_SERVERKEY"] = Hex(ServerKeys.PublicKey),
                ["CURVE_PUBLICKEY"] = Hex(ClientKeys.PublicKey),
                ["CURVE_SECRETKEY"] = Hex(ClientKeys.SecretKey),
            },
        });
        await req.ConnectAsync(endpoint);

        await req.SendStringsAsync("from libzmq");
        (await rep.ReceiveWithin()).GetString(0).Should().Be("from libzmq");
        await rep.SendAsync(Message.FromStrings("to libzmq"));
        (await req.ReceiveAsync(TestTimeouts.Long)).Select(f => Encoding.ASCII.GetString(f)).Should().Equal("to libzmq");
    }

    [PyZmqFact]
    public async Task Curve_OurSubToLibzmqXPub_SubscriptionCommandAndMessagesBoxed()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var xpub = await peer.CreateSocketAsync("XPUB", new PeerSocketOptions
        {
            Extra = new Dictionary<string, string> { ["CURVE_SERVER"] = "1", ["CURVE_SECRETKEY"] = Hex(ServerKeys.SecretKey) },
        });
        string endpoint = await xpub.BindAsync();
        await using var sub = new SubscriberSocket(Client(ServerKeys.PublicKey));
        sub.Subscribe("news");
        sub.Connect(endpoint);

        // The SUBSCRIBE command reaches libzmq inside a MESSAGE box, flagged COMMAND.
        (await xpub.ReceiveAsync(TestTimeouts.Long))[0].Should().Equal([1, .. "news"u8.ToArray()]);
        await xpub.SendStringsAsync("news: boxed");
        (await sub.ReceiveWithin()).GetString(0).Should().Be("news: boxed");
    }

    [PyZmqFact]
    public async Task Curve_LibzmqDealerToOurRouter_IdentityFromInitiateRoutes()
    {
        await using var router = new RouterSocket(Server());
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var peer = await PyZmqPeer.StartAsync();
        var dealer = await peer.CreateSocketAsync("DEALER", new PeerSocketOptions
        {
            RoutingId = "libzmq-dealer"u8.ToArray(),
            Extra = new Dictionary<string, string>
            {
                ["CURVE_SERVERKEY"] = Hex(ServerKeys.PublicKey),
                ["CURVE_PUBLICKEY"] = Hex(ClientKeys.PublicKey),
                ["CURVE_SECRETKEY"] = Hex(ClientKeys.SecretKey),
            },
        });
        await dealer.ConnectAsync(endpoint);

        await dealer.SendStringsAsync("job");
        var request = await router.ReceiveWithin();
        (request.GetString(0), request.GetString(1)).Should().Be(("libzmq-dealer", "job"));
        await router.SendAsync(Message.FromStrings("libzmq-dealer", "done"));
        (await dealer.ReceiveAsync(TestTimeouts.Long)).Select(f => Encoding.ASCII.GetString(f)).Should().Equal("done");
    }
}
