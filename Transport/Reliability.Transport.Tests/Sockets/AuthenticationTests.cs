using System.Net;
using System.Net.Sockets;
using Reliability.Transport.Curve;
using Reliability.Transport.Tests.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Tests.Sockets;

/// <summary>
/// <see cref="SocketOptions.Authenticator"/> on real loopback connections (docs/security.md): who is refused,
/// what the refused peer sees, and the user id on the messages of those accepted. Nothing may hang.
/// </summary>
public sealed class AuthenticationTests
{
    private static readonly CurveKeyPair ServerKeys = CurveKeyPair.Generate();
    private static readonly CurveKeyPair ClientKeys = CurveKeyPair.Generate();

    private static SocketOptions CurveServer(Authenticator authenticator) =>
        new() { CurveServer = true, CurveSecretKey = ServerKeys.SecretKey, Authenticator = authenticator, Linger = TimeSpan.Zero };

    private static SocketOptions CurveClient(CurveKeyPair keys) =>
        new() { CurveSecretKey = keys.SecretKey, CurveServerKey = ServerKeys.PublicKey, Linger = TimeSpan.Zero };

    [Fact]
    public async Task Curve_AllowedKey_ServedAndUserIdIsItsZ85Key()
    {
        var auth = new Authenticator();
        auth.AllowCurveKey(ClientKeys.PublicKey);
        await using var router = new RouterSocket(CurveServer(auth));
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(CurveClient(ClientKeys));
        dealer.Connect(endpoint);

        await dealer.SendAsync(Message.FromStrings("hello"));
        var request = await router.ReceiveWithin();

        request.GetString(1).Should().Be("hello");
        request.UserId.Should().Be(ClientKeys.PublicKey);
        await router.SendAsync(Message.FromFrames(request[0].ToArray(), "hi"u8.ToArray()));
        var reply = await dealer.ReceiveWithin();
        reply.UserId.Should().BeNull("the client side has no authenticated peer");
        auth.AcceptedCount.Should().Be(1);
    }

    [Fact]
    public async Task Curve_UnlistedKey_GetsErrorAndNoConnection_CountedAndRaisedOnBothSides()
    {
        var auth = new Authenticator();
        auth.AllowCurveKey(CurveKeyPair.Generate().PublicKey);
        await using var router = new RouterSocket(CurveServer(auth));
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var refused = router.NextEvent(SocketEventKind.HandshakeFailed);
        await using var dealer = new DealerSocket(CurveClient(ClientKeys));
        var rejected = dealer.NextEvent(SocketEventKind.HandshakeFailed);
        dealer.Connect(endpoint);

        (await refused.Within()).Error.Should().Be(ProtocolError.AuthenticationFailed);
        var clientSide = await rejected.Within();
        clientSide.Error.Should().Be(ProtocolError.PeerError);
        clientSide.Exception!.Message.Should().Contain("400", "the refusal is an ERROR command with ZAP's status");
        auth.RefusedCount.Should().Be(1);
    }

    [Fact]
    public async Task Curve_ClientWithoutAuthenticator_UserIdIsStillItsProvenKey()
    {
        await using var rep = new ReplySocket(new SocketOptions { CurveServer = true, CurveSecretKey = ServerKeys.SecretKey, Linger = TimeSpan.Zero });
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        await using var req = new RequestSocket(CurveClient(ClientKeys));
        req.Connect(endpoint);

        await req.SendAsync(Message.FromStrings("who am I"));
        (await rep.ReceiveWithin()).UserId.Should().Be(ClientKeys.PublicKey);
    }

    [Fact]
    public async Task Plain_AuthenticatorUsers_UserIdIsTheUserName_WrongPasswordRefused()
    {
        var auth = new Authenticator();
        auth.AddPlainUser("admin", "secret");
        var server = new SocketOptions { Plain = new PlainOptions(), Authenticator = auth, Linger = TimeSpan.Zero };
        await using var rep = new ReplySocket(server);
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        await using var good = new RequestSocket(new SocketOptions { Plain = new PlainOptions { UserName = "admin", Password = "secret" }, Linger = TimeSpan.Zero });
        good.Connect(endpoint);
        await good.SendAsync(Message.FromStrings("in"));
        (await rep.ReceiveWithin()).UserId.Should().Be("admin");

        var refused = rep.NextEvent(SocketEventKind.HandshakeFailed);
        await using var bad = new RequestSocket(new SocketOptions { Plain = new PlainOptions { UserName = "admin", Password = "guess" }, Linger = TimeSpan.Zero });
        var rejected = bad.NextEvent(SocketEventKind.HandshakeFailed);
        bad.Connect(endpoint);
        (await refused.Within()).Error.Should().Be(ProtocolError.AuthenticationFailed);
        (await rejected.Within()).Error.Should().Be(ProtocolError.PeerError);
    }

    [Fact]
    public async Task Null_DeniedAddress_ClosedBeforeGreeting_AndThrowingHookRefuses()
    {
        var auth = new Authenticator();
        auth.DenyAddress("127.0.0.1");
        await using var rep = new ReplySocket(new SocketOptions { Authenticator = auth, Linger = TimeSpan.Zero });
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        var refused = rep.NextEvent(SocketEventKind.HandshakeFailed);
        using var raw = await RawPeer.ConnectAsync(endpoint);

        (await refused.Within()).Error.Should().Be(ProtocolError.AuthenticationFailed);
        (await raw.Stream.ReadAsync(new byte[64]).AsTask().Within()).Should().Be(0, "a denied address gets not even a greeting");

        await using var hooked = new ReplySocket(new SocketOptions { Authenticator = new Authenticator { Hook = _ => throw new InvalidOperationException("bug") }, Linger = TimeSpan.Zero });
        string hookedEndpoint = hooked.Bind("tcp://127.0.0.1:0");
        var hookRefused = hooked.NextEvent(SocketEventKind.HandshakeFailed);
        using var second = await RawPeer.ConnectAsync(hookedEndpoint);
        (await hookRefused.Within()).Exception!.Message.Should().Contain("threw");
    }

    [Fact]
    public async Task Curve_TamperedMessageAfterHandshake_ConnectionDropped()
    {
        await using var rep = new ReplySocket(new SocketOptions { CurveServer = true, CurveSecretKey = ServerKeys.SecretKey, Linger = TimeSpan.Zero });
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        var dropped = rep.NextEvent(SocketEventKind.Disconnected);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, new Uri(endpoint).Port).Within();
        var stream = tcp.GetStream();
        await RawCurveInteropTests.WriteAsync(stream, RawCurveInteropTests.Greeting(asServer: false));
        await RawCurveInteropTests.ReadExactlyAsync(stream, 64);
        using var curve = new CurveClient(Z85.Decode(ServerKeys.PublicKey), Z85.Decode(ClientKeys.PublicKey), Z85.Decode(ClientKeys.SecretKey), Commands.BuildMetadata("REQ", [], includeIdentity: false));
        await RawCurveInteropTests.WriteFrameAsync(stream, curve.CreateHello(), command: true);
        await RawCurveInteropTests.WriteFrameAsync(stream, curve.ProcessWelcome((await RawCurveInteropTests.ReadFrameAsync(stream)).Body), command: true);
        curve.ProcessReady((await RawCurveInteropTests.ReadFrameAsync(stream)).Body);

        var message = curve.Encode("payload"u8, more: false, command: false);
        message[^1] ^= 0x01;
        await RawCurveInteropTests.WriteFrameAsync(stream, message, command: false);

        (await dropped.Within()).Error.Should().Be(ProtocolError.CryptographicFailure);
        (await stream.ReadAsync(new byte[16]).AsTask().Within()).Should().Be(0, "the server closed the connection");
    }

    [Fact]
    public void Validate_AuthenticatorOnCurveClientOrWithPlainCredentials_Refused()
    {
        FluentActions.Invoking(new SocketOptions { CurveSecretKey = ClientKeys.SecretKey, CurveServerKey = ServerKeys.PublicKey, Authenticator = new Authenticator() }.Validate)
            .Should().Throw<ArgumentException>().WithMessage("*Authenticator is for servers*");
        FluentActions.Invoking(new SocketOptions { Plain = new PlainOptions { UserName = "u" }, Authenticator = new Authenticator() }.Validate)
            .Should().Throw<ArgumentException>().WithMessage("*no credentials*");
    }
}
