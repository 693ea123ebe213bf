using System.Text;
using FluentAssertions;
using Reliability.Transport.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Tests.Curve;

/// <summary>The CURVE client and server state machines against each other in memory (docs/wire/curve.md §3-§4).</summary>
public sealed class MechanismTests
{
    private static readonly byte[] ClientMetadata = Commands.BuildMetadata("REQ", [], includeIdentity: false);
    private static readonly byte[] ServerMetadata = Commands.BuildMetadata("REP", [], includeIdentity: false);

    private static (CurveClient Client, CurveServer Server) Pair(Keys server, Keys client, byte[]? serverKeyForClient = null) =>
        (new CurveClient(serverKeyForClient ?? server.Public, client.Public, client.Secret, ClientMetadata),
         new CurveServer(server.Public, server.Secret, ServerMetadata));

    private static (CurveClient Client, CurveServer Server, CurveInitiate Initiate) Handshake(Keys server, Keys client)
    {
        var (c, s) = Pair(server, client);
        var welcome = s.ProcessHello(c.CreateHello());
        var initiate = s.ProcessInitiate(c.ProcessWelcome(welcome));
        c.ProcessReady(s.CreateReady()).Should().Equal(ServerMetadata);
        return (c, s, initiate);
    }

    [Fact]
    public void Handshake_InMemory_HasTheRfcSizesAndAuthenticatesTheClientKey()
    {
        Keys server = new(), client = new();
        var (c, s) = Pair(server, client);

        byte[] hello = c.CreateHello();
        hello.Length.Should().Be(200);
        hello.AsSpan(0, 8).ToArray().Should().Equal([5, .. "HELLO"u8.ToArray(), 1, 0]);
        hello.AsSpan(8, 72).ToArray().Should().OnlyContain(b => b == 0, "72 octets of anti-amplification padding");
        hello.AsSpan(112, 8).ToArray().Should().Equal(0, 0, 0, 0, 0, 0, 0, 1);

        byte[] welcome = s.ProcessHello(hello);
        welcome.Length.Should().Be(168);

        byte[] initiate = c.ProcessWelcome(welcome);
        initiate.Length.Should().Be(257 + ClientMetadata.Length);
        initiate.AsSpan(105, 8).ToArray().Should().Equal(0, 0, 0, 0, 0, 0, 0, 2);

        var proven = s.ProcessInitiate(initiate);
        proven.ClientPublicKey.Should().Equal(client.Public);
        proven.Metadata.Should().Equal(ClientMetadata);
        Commands.ParseReady(proven.Metadata, out _)!.SocketType.Should().Be("REQ");

        byte[] ready = s.CreateReady();
        ready.Length.Should().Be(30 + ServerMetadata.Length);
        c.ProcessReady(ready).Should().Equal(ServerMetadata);
        c.IsReady.Should().BeTrue();
        s.IsReady.Should().BeTrue();
    }

    [Fact]
    public void Messages_BothDirections_CarryPayloadAndFlags()
    {
        var (c, s, _) = Handshake(new Keys(), new Keys());

        byte[] toServer = c.Encode("hello"u8, more: true, command: false);
        toServer.Length.Should().Be(33 + 5);
        Encoding.ASCII.GetString(toServer, 1, 7).Should().Be("MESSAGE");
        var frame = s.Decode(toServer);
        frame.Payload.ToArray().Should().Equal("hello"u8.ToArray());
        frame.More.Should().BeTrue();
        frame.Command.Should().BeFalse();

        var reply = c.Decode(s.Encode([], more: false, command: true));
        reply.Payload.Length.Should().Be(0);
        reply.More.Should().BeFalse();
        reply.Command.Should().BeTrue();

        // Each direction has its own nonce prefix: a client's box cannot be reflected back to it.
        FluentActions.Invoking(() => c.Decode(c.Encode("x"u8, false, false)))
            .Should().Throw<ProtocolException>().Which.Error.Should().Be(ProtocolError.CryptographicFailure);
    }

    [Fact]
    public void Decode_TamperedCiphertext_IsRejected()
    {
        var (c, s, _) = Handshake(new Keys(), new Keys());
        byte[] message = c.Encode("pay me 100"u8, false, false);
        message[^3] ^= 0x01;
        FluentActions.Invoking(() => s.Decode(message))
            .Should().Throw<ProtocolException>().Which.Error.Should().Be(ProtocolError.CryptographicFailure);
    }

    [Fact]
    public void Decode_ReplayedOrOlderNonce_IsRejected()
    {
        var (c, s, _) = Handshake(new Keys(), new Keys());
        byte[] first = c.Encode("1"u8, false, false);
        byte[] second = c.Encode("2"u8, false, false);
        s.Decode(second).Payload.ToArray().Should().Equal("2"u8.ToArray());

        FluentActions.Invoking(() => s.Decode(second)).Should().Throw<ProtocolException>().WithMessage("*replayed*");
        FluentActions.Invoking(() => s.Decode(first)).Should().Throw<ProtocolException>().WithMessage("*replayed*");
    }

    [Fact]
    public void Decode_TamperedMessageFirst_DoesNotAdvanceTheNonce()
    {
        var (c, s, _) = Handshake(new Keys(), new Keys());
        byte[] message = c.Encode("ok"u8, false, false);
        byte[] forged = (byte[])message.Clone();
        forged[^1] ^= 0x40;
        FluentActions.Invoking(() => s.Decode(forged)).Should().Throw<ProtocolException>();
        s.Decode(message).Payload.ToArray().Should().Equal("ok"u8.ToArray());
    }

    [Fact]
    public void Hello_ClientHasWrongServerKey_IsRejectedByTheServer()
    {
        Keys server = new(), client = new(), impostor = new();
        var (c, s) = Pair(server, client, serverKeyForClient: impostor.Public);
        FluentActions.Invoking(() => s.ProcessHello(c.CreateHello()))
            .Should().Throw<ProtocolException>().Which.Error.Should().Be(ProtocolError.CryptographicFailure);
    }

    [Fact]
    public void Welcome_TamperedOrFromAServerWithoutS_IsRejected()
    {
        Keys server = new(), client = new(), impostor = new();
        var c = new CurveClient(server.Public, client.Public, client.Secret, ClientMetadata);
        using var honest = new CurveServer(server.Public, server.Secret, ServerMetadata);
        using var rogue = new CurveServer(impostor.Public, impostor.Secret, ServerMetadata);
        var hello = c.CreateHello();

        // A server without s cannot open HELLO, so it has nothing to build a WELCOME from.
        FluentActions.Invoking(() => rogue.ProcessHello(hello)).Should().Throw<ProtocolException>();

        var welcome = honest.ProcessHello(hello);
        welcome[^1] ^= 1;
        FluentActions.Invoking(() => c.ProcessWelcome(welcome))
            .Should().Throw<ProtocolException>().WithMessage("*WELCOME box did not open*");
    }

    [Fact]
    public void Welcome_DegenerateServerTransientKey_IsRejected()
    {
        // A hostile server that does hold s boxes S' = 0; the client must refuse rather than derive a zero key.
        Keys server = new(), client = new();
        var c = new CurveClient(server.Public, client.Public, client.Secret, ClientMetadata);
        byte[] hello = c.CreateHello();
        byte[] welcome = new byte[168];
        byte[] name = [7, .. "WELCOME"u8.ToArray()];
        name.CopyTo(welcome, 0);
        Sodium.Random(welcome.AsSpan(8, 16));
        byte[] nonce = [.. "WELCOME-"u8.ToArray(), .. welcome.AsSpan(8, 16).ToArray()];
        Sodium.Box(welcome.AsSpan(24), new byte[128], nonce, hello.AsSpan(80, 32), server.Secret);
        FluentActions.Invoking(() => c.ProcessWelcome(welcome))
            .Should().Throw<ProtocolException>().WithMessage("*not a usable point*");
    }

    [Fact]
    public void Initiate_ClientClaimsAKeyItDoesNotHold_IsRejectedAtTheVouch()
    {
        Keys server = new(), victim = new(), attacker = new();
        var c = new CurveClient(server.Public, victim.Public, attacker.Secret, ClientMetadata);
        using var s = new CurveServer(server.Public, server.Secret, ServerMetadata);
        var initiate = c.ProcessWelcome(s.ProcessHello(c.CreateHello()));
        FluentActions.Invoking(() => s.ProcessInitiate(initiate))
            .Should().Throw<ProtocolException>().WithMessage("*vouch did not open*");
    }

    [Fact]
    public void Ready_EmptyMetadata_OpensToNothing()
    {
        Keys server = new(), client = new();
        var c = new CurveClient(server.Public, client.Public, client.Secret, ClientMetadata);
        using var s = new CurveServer(server.Public, server.Secret, []);
        s.ProcessInitiate(c.ProcessWelcome(s.ProcessHello(c.CreateHello())));
        c.ProcessReady(s.CreateReady()).Should().BeEmpty();
    }

    [Fact]
    public void Initiate_WithTheCookieOfAnotherConnection_IsRejected()
    {
        Keys server = new(), client = new();
        var (c1, s1) = Pair(server, client);
        var (c2, s2) = Pair(server, client);
        var initiate1 = c1.ProcessWelcome(s1.ProcessHello(c1.CreateHello()));
        s2.ProcessHello(c2.CreateHello());
        FluentActions.Invoking(() => s2.ProcessInitiate(initiate1))
            .Should().Throw<ProtocolException>().WithMessage("*cookie*");
    }

    [Fact]
    public void Initiate_TamperedBox_IsRejected()
    {
        Keys server = new(), client = new();
        var (c, s) = Pair(server, client);
        var initiate = c.ProcessWelcome(s.ProcessHello(c.CreateHello()));
        initiate[150] ^= 0x10;
        FluentActions.Invoking(() => s.ProcessInitiate(initiate))
            .Should().Throw<ProtocolException>().Which.Error.Should().Be(ProtocolError.CryptographicFailure);
    }

    [Theory]
    [InlineData(199)]
    [InlineData(201)]
    public void Hello_WrongLength_IsMalformed(int length)
    {
        var (c, s) = Pair(new Keys(), new Keys());
        byte[] hello = c.CreateHello();
        Array.Resize(ref hello, length);
        FluentActions.Invoking(() => s.ProcessHello(hello))
            .Should().Throw<ProtocolException>().Which.Error.Should().Be(ProtocolError.MalformedCommand);
    }

    [Fact]
    public void Welcome_ServerSentError_SurfacesTheReason()
    {
        var (c, _) = Pair(new Keys(), new Keys());
        c.CreateHello();
        byte[] error = [5, .. "ERROR"u8.ToArray(), 3, .. "400"u8.ToArray()];
        FluentActions.Invoking(() => c.ProcessWelcome(error))
            .Should().Throw<ProtocolException>().Where(e => e.Error == ProtocolError.PeerError && e.Message.Contains("400", StringComparison.Ordinal));
    }

    [Fact]
    public void Steps_OutOfOrder_Throw()
    {
        var (c, s) = Pair(new Keys(), new Keys());
        FluentActions.Invoking(() => s.CreateReady()).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => c.Encode("x"u8, false, false)).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Dispose_AfterHandshake_ZeroesEverySecret()
    {
        var (c, s, _) = Handshake(new Keys(), new Keys());
        c.SecretsZeroed.Should().BeFalse("the connection key is still in use");
        s.SecretsZeroed.Should().BeFalse();
        c.Dispose();
        s.Dispose();
        c.SecretsZeroed.Should().BeTrue();
        s.SecretsZeroed.Should().BeTrue();
    }

    [Fact]
    public void Dispose_MidHandshake_ZeroesEverySecret()
    {
        var (c, s) = Pair(new Keys(), new Keys());
        s.ProcessHello(c.CreateHello());
        c.Dispose();
        s.Dispose();
        c.SecretsZeroed.Should().BeTrue();
        s.SecretsZeroed.Should().BeTrue();
    }

    [Fact]
    public void DrainControl_UnderCurve_SealsThePongInAMessageDataFrame()
    {
        var (c, s, _) = Handshake(new Keys(), new Keys());
        using var heartbeat = new Reliability.Transport.Internal.ZmtpHeartbeat(new SocketOptions(), TimeProvider.System, _ => { });
        heartbeat.OnPeerPing([0, 0, (byte)'h', (byte)'i']);
        var buffer = new byte[256];
        int length = heartbeat.DrainControl(buffer, 0, c);

        FrameHeader.TryRead(buffer.AsSpan(0, length), out var flags, out long size, out int header).Should().BeTrue();
        flags.Should().Be(FrameFlags.None, "MESSAGE is a plain data frame; COMMAND rides inside the box");
        (header + size).Should().Be(length);
        var pong = s.Decode(buffer.AsSpan(header, (int)size));
        pong.Command.Should().BeTrue();
        pong.Payload.ToArray().Should().Equal([4, .. "PONG"u8.ToArray(), (byte)'h', (byte)'i']);
    }
}
