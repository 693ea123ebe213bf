using System.Text;
using System.Text.Json.Nodes;
using Reliability.Testing.PyZmq;
using Reliability.Transport.Tests.Interop;

namespace Reliability.Transport.Tests.Security;

/// <summary>
/// Authentication against libzmq 4.3.4 (pyzmq), both ways: libzmq CURVE clients with and without an allowed key
/// against our <see cref="Authenticator"/>, and our clients against a libzmq server whose ZAP handler is pyzmq's
/// <c>zmq.auth</c> ThreadAuthenticator reading certificate files we wrote.
/// </summary>
public sealed class ZapInteropTests : IDisposable
{
    private static readonly CurveKeyPair ServerKeys = CurveKeyPair.Generate();
    private static readonly CurveKeyPair Allowed = CurveKeyPair.Generate();
    private static readonly CurveKeyPair Unlisted = CurveKeyPair.Generate();
    private readonly string _certificates = Directory.CreateTempSubdirectory("zap-interop-").FullName;

    public void Dispose() => Directory.Delete(_certificates, recursive: true);

    private static string Hex(string z85) => Convert.ToHexString(Z85.Decode(z85));

    private static PeerSocketOptions LibzmqClient(CurveKeyPair keys, string routingId) => new()
    {
        RoutingId = Encoding.ASCII.GetBytes(routingId),
        Extra = new Dictionary<string, string>
        {
            ["CURVE_SERVERKEY"] = Hex(ServerKeys.PublicKey),
            ["CURVE_PUBLICKEY"] = Hex(keys.PublicKey),
            ["CURVE_SECRETKEY"] = Hex(keys.SecretKey),
        },
    };

    [PyZmqFact]
    public async Task LibzmqClients_AllowedKeyServedWithUserId_UnlistedKeyGetsAuthFailure()
    {
        var auth = new Authenticator();
        auth.AllowCurveKey(Allowed.PublicKey);
        await using var router = new RouterSocket(new SocketOptions { CurveServer = true, CurveSecretKey = ServerKeys.SecretKey, Authenticator = auth, Linger = TimeSpan.Zero });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var peer = await PyZmqPeer.StartAsync();

        var good = await peer.CreateSocketAsync("DEALER", LibzmqClient(Allowed, "good"));
        await good.ConnectAsync(endpoint);
        await good.SendStringsAsync("allowed");
        var request = await router.ReceiveWithin();
        (request.GetString(0), request.GetString(1), request.UserId).Should().Be(("good", "allowed", Allowed.PublicKey));

        var refused = router.NextEvent(SocketEventKind.HandshakeFailed);
        var bad = await peer.CreateSocketAsync("DEALER", LibzmqClient(Unlisted, "bad"));
        await bad.StartMonitorAsync();
        await bad.ConnectAsync(endpoint);

        (await refused.Within()).Error.Should().Be(ProtocolError.AuthenticationFailed);
        var failure = await bad.TryWaitForEventAsync(TestTimeouts.Long, "HANDSHAKE_FAILED_AUTH");
        failure.Should().NotBeNull("libzmq reads our ERROR as an authentication failure");
        failure!.Value.Should().Be(400);
        auth.RefusedCount.Should().Be(1);
    }

    [PyZmqFact]
    public async Task OurClients_AgainstLibzmqThreadAuthenticator_CertificateFilesWeWrote()
    {
        // Our public certificate, read by zmq.auth.load_certificates (it takes *.key files).
        new CurveCertificate(Allowed.PublicKey).SavePublic(Path.Combine(_certificates, "allowed.key"));
        await using var peer = await PyZmqPeer.StartAsync();
        await peer.RequestAsync("auth", new JsonObject { ["curve_dir"] = _certificates });
        var rep = await peer.CreateSocketAsync("REP", new PeerSocketOptions
        {
            Extra = new Dictionary<string, string> { ["CURVE_SERVER"] = "1", ["CURVE_SECRETKEY"] = Hex(ServerKeys.SecretKey) },
        });
        string endpoint = await rep.BindAsync();

        await using var good = new RequestSocket(new SocketOptions { CurveSecretKey = Allowed.SecretKey, CurveServerKey = ServerKeys.PublicKey, Linger = TimeSpan.Zero });
        good.Connect(endpoint);
        await good.SendAsync(Message.FromStrings("let me in"));
        (await rep.ReceiveAsync(TestTimeouts.Long)).Select(f => Encoding.ASCII.GetString(f)).Should().Equal("let me in");
        await rep.SendStringsAsync("welcome");
        (await good.ReceiveWithin()).GetString(0).Should().Be("welcome");

        await using var bad = new RequestSocket(new SocketOptions { CurveSecretKey = Unlisted.SecretKey, CurveServerKey = ServerKeys.PublicKey, Linger = TimeSpan.Zero });
        var rejected = bad.NextEvent(SocketEventKind.HandshakeFailed);
        bad.Connect(endpoint);
        var failure = await rejected.Within();
        failure.Error.Should().Be(ProtocolError.PeerError);
        failure.Exception!.Message.Should().Contain("400");
    }

    [PyZmqFact]
    public async Task OurPlainClient_AgainstLibzmqThreadAuthenticator_PasswordChecked()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        await peer.RequestAsync("auth", new JsonObject { ["plain"] = new JsonObject { ["admin"] = "secret" } });
        var rep = await peer.CreateSocketAsync("REP", new PeerSocketOptions { Extra = new Dictionary<string, string> { ["PLAIN_SERVER"] = "1" } });
        string endpoint = await rep.BindAsync();

        await using var good = new RequestSocket(new SocketOptions { Plain = new PlainOptions { UserName = "admin", Password = "secret" }, Linger = TimeSpan.Zero });
        good.Connect(endpoint);
        await good.SendAsync(Message.FromStrings("plain"));
        (await rep.ReceiveAsync(TestTimeouts.Long)).Select(f => Encoding.ASCII.GetString(f)).Should().Equal("plain");

        await using var bad = new RequestSocket(new SocketOptions { Plain = new PlainOptions { UserName = "admin", Password = "guess" }, Linger = TimeSpan.Zero });
        var rejected = bad.NextEvent(SocketEventKind.HandshakeFailed);
        bad.Connect(endpoint);
        // libzmq 4.3.4's PLAIN server garbles its ERROR on the wire (04 09 5E 52 52 4F 52 03 "400": name length and
        // first letter lost), so the refusal reads as a malformed command rather than ERROR; either way, no connection.
        var failure = await rejected.Within();
        failure.Error.Should().Be(ProtocolError.MalformedCommand, failure.Exception?.Message);
    }
}
