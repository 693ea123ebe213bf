using Reliability.Testing.PyZmq;
using Reliability.Transport.Tests.Interop;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Tests.Sockets;

/// <summary>The PLAIN mechanism (RFC 24): HELLO, WELCOME, INITIATE, READY or ERROR.</summary>
public sealed class PlainTests
{
    private static SocketOptions Server(Func<PlainCredentials, bool> authenticator) =>
        new() { Plain = new PlainOptions { Authenticator = authenticator } };

    private static SocketOptions Client(string user, string password) =>
        new() { Plain = new PlainOptions { UserName = user, Password = password }, Linger = TimeSpan.Zero };

    [Fact]
    public void BuildHello_AdminSecret_MatchesRfc24Layout()
    {
        // HELLO = 05 "HELLO" username-len "admin" password-len "secret"
        var frame = Commands.BuildCommandFrame(Commands.HelloName, Commands.BuildHelloData("admin", "secret"));

        frame.Should().Equal([0x04, 0x13, 0x05, .. "HELLO"u8.ToArray(), 0x05, .. "admin"u8.ToArray(), 0x06, .. "secret"u8.ToArray()]);
        Commands.TryParseHello(frame.AsSpan(2 + 6), out var user, out var password).Should().BeTrue();
        (user, password).Should().Be(("admin", "secret"));
    }

    [Fact]
    public async Task Plain_ValidCredentials_Served()
    {
        PlainCredentials? seen = null;
        await using var router = new RouterSocket(Server(c =>
        {
            seen = c;
            return c is { UserName: "admin", Password: "secret" };
        }));
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(Client("admin", "secret") with { RoutingId = "c"u8.ToArray() });
        dealer.Connect(endpoint);

        await dealer.SendAsync(Message.FromStrings("authenticated"));
        var request = await router.ReceiveWithin();

        request.GetString(0).Should().Be("c", "the Identity travels in INITIATE");
        request.GetString(1).Should().Be("authenticated");
        seen!.PeerAddress.Should().StartWith("tcp://127.0.0.1:");
        await router.SendAsync(Message.FromStrings("c", "welcome"));
        (await dealer.ReceiveWithin()).GetString(0).Should().Be("welcome");
    }

    [Fact]
    public async Task Plain_WrongPassword_RefusedAndClientStopsReconnecting()
    {
        await using var router = new RouterSocket(Server(c => c.Password == "secret"));
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var refused = router.NextEvent(SocketEventKind.HandshakeFailed);
        await using var dealer = new DealerSocket(Client("admin", "guess"));
        var rejected = dealer.NextEvent(SocketEventKind.HandshakeFailed);
        dealer.Connect(endpoint);
        await dealer.SendAsync(Message.FromStrings("let me in"));

        (await refused.Within()).Error.Should().Be(ProtocolError.AuthenticationFailed);
        var clientSide = await rejected.Within();
        clientSide.Error.Should().Be(ProtocolError.PeerError);
        clientSide.Exception!.Message.Should().Contain("400");
        (await router.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull("a refused peer is not served");
    }

    [Fact]
    public async Task Plain_AuthenticatorThrows_PeerRefusedSocketKeepsServing()
    {
        await using var router = new RouterSocket(Server(c => c.UserName == "boom" ? throw new InvalidOperationException("hook bug") : true));
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var refused = router.NextEvent(SocketEventKind.HandshakeFailed);
        await using var bad = new DealerSocket(Client("boom", "x"));
        bad.Connect(endpoint);
        (await refused.Within()).Error.Should().Be(ProtocolError.AuthenticationFailed);

        await using var good = new DealerSocket(Client("fine", "x"));
        good.Connect(endpoint);
        await good.SendAsync(Message.FromStrings("still serving"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("still serving");
    }

    [Fact]
    public async Task Plain_NullClientToPlainServer_MechanismMismatch()
    {
        await using var router = new RouterSocket(Server(_ => true));
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var failed = router.NextEvent(SocketEventKind.HandshakeFailed);
        await using var dealer = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        dealer.Connect(endpoint);

        (await failed.Within()).Error.Should().Be(ProtocolError.MechanismMismatch);
    }

    /// <summary>
    /// A libzmq PLAIN server. libzmq 4.3.4 refuses PLAIN clients unless a ZAP handler is running
    /// (checked by hand: without one, nothing is ever delivered), so the script starts pyzmq's.
    /// </summary>
    private const string LibzmqPlainServer = """
        import sys, zmq
        from zmq.auth.thread import ThreadAuthenticator
        ctx = zmq.Context()
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        server = ctx.socket(zmq.ROUTER)
        server.plain_server = True
        port = server.bind_to_random_port("tcp://127.0.0.1")
        print(port, flush=True)
        if server.poll(10000):
            frames = server.recv_multipart()
            print(frames[0].decode() + "|" + frames[1].decode(), flush=True)
        else:
            print("timeout", flush=True)
        server.close(0)
        auth.stop()
        """;

    [PyZmqFact]
    public async Task Plain_OurClientToLibzmqServer_Served()
    {
        string script = Path.Combine(Path.GetTempPath(), $"plain-server-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, LibzmqPlainServer);
        try
        {
            await using var server = PythonProcess.Start(script);
            string port = (await server.ReadLineAsync(TestTimeouts.Long))!;
            await using var dealer = new DealerSocket(Client("admin", "secret") with { RoutingId = "ours"u8.ToArray() });
            dealer.Connect($"tcp://127.0.0.1:{port}");

            await dealer.SendAsync(Message.FromStrings("over PLAIN"));

            (await server.ReadLineAsync(TestTimeouts.Long)).Should().Be("ours|over PLAIN");
        }
        finally
        {
            File.Delete(script);
        }
    }

    [PyZmqTheory]
    [InlineData("secret", true)]
    [InlineData("wrong", false)]
    public async Task Plain_LibzmqClientToOurServer_AuthenticatorDecides(string password, bool allowed)
    {
        await using var router = new RouterSocket(Server(c => c is { UserName: "admin", Password: "secret" }));
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var outcome = router.NextEvent(allowed ? SocketEventKind.HandshakeSucceeded : SocketEventKind.HandshakeFailed);
        await using var peer = await PyZmqPeer.StartAsync();
        var client = await peer.CreateSocketAsync("DEALER", new PeerSocketOptions
        {
            Extra = new Dictionary<string, string>
            {
                ["PLAIN_USERNAME"] = Convert.ToHexString("admin"u8),
                ["PLAIN_PASSWORD"] = Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(password)),
            },
        });
        await client.ConnectAsync(endpoint);

        var result = await outcome.Within();
        if (allowed)
        {
            await client.SendStringsAsync("from libzmq");
            (await router.ReceiveWithin()).GetString(1).Should().Be("from libzmq");
        }
        else
        {
            result.Error.Should().Be(ProtocolError.AuthenticationFailed);
        }
    }
}
