using System.Globalization;
using Reliability.Patterns.Freelance;
using Reliability.Patterns.Tests.LazyPirate;
using Reliability.Patterns.Tests.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.Freelance;

/// <summary>Freelance model 3 against libzmq (pyzmq): groups of zguide-style servers for our client, and a zguide-style client for our servers.</summary>
public sealed class FreelanceInteropTests
{
    /// <summary>
    /// flserver3: a ROUTER whose identity is its endpoint, bound to it. <c>PING</c> → <c>PONG</c>;
    /// <c>[sequence][body…]</c> → <c>[sequence][body…]</c> (an echo). Argument: the endpoint. Prints
    /// <c>ready</c> once bound and <c>request BODY</c> per request.
    /// </summary>
    private const string Server = PyZmqScript.Preamble + """
        import zmq

        endpoint = sys.argv[1]

        ctx = zmq.Context()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.IDENTITY, endpoint.encode())
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(endpoint)
        out("ready")
        stop_at = time.monotonic() + 120
        while time.monotonic() < stop_at:
            if not sock.poll(100, zmq.POLLIN):
                continue
            frames = sock.recv_multipart()
            if len(frames) == 2 and frames[1] == b"PING":
                sock.send_multipart([frames[0], b"PONG"])
            elif len(frames) >= 3:
                out("request", frames[2].decode("utf-8", "replace"))
                sock.send_multipart(frames)
        """;

    /// <summary>
    /// flcliapi (model 3): a ROUTER (mandatory routing) connected to every server; pings each every
    /// 200 ms, a server is alive for 1000 ms after anything it sent; each request (one at a time, a new
    /// sequence number each) goes to the first live server and, after a 500 ms try timeout, to the next
    /// live one; replies whose sequence is not the current one are ignored. Arguments: the endpoints
    /// (comma-separated), N. Prints <c>reply N SERVER</c>, <c>bad N</c>, then <c>done</c>.
    /// </summary>
    private const string Client = PyZmqScript.Preamble + """
        import zmq

        endpoints = sys.argv[1].split(",")
        requests = int(sys.argv[2])
        PING, TTL, TRY = 0.2, 1.0, 0.5

        ctx = zmq.Context()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.setsockopt(zmq.LINGER, 0)
        for e in endpoints:
            sock.connect(e)
        now = time.monotonic
        alive_until = {e: 0.0 for e in endpoints}
        ping_at = {e: 0.0 for e in endpoints}

        def send(server, frames):
            try:
                sock.send_multipart([server.encode()] + frames)
                return True
            except zmq.ZMQError:
                return False

        stop_at = now() + 120
        for n in range(1, requests + 1):
            sequence = str(n).encode()
            body = ("fl-%d" % n).encode()
            target, try_until, answered = None, 0.0, False
            while not answered and now() < stop_at:
                for e in endpoints:
                    if now() >= ping_at[e]:
                        send(e, [b"PING"])
                        ping_at[e] = now() + PING
                live = [e for e in endpoints if alive_until[e] > now()]
                if live and (target is None or now() >= try_until):
                    following = live[0] if target not in live else live[(live.index(target) + 1) % len(live)]
                    if send(following, [sequence, body]):
                        target, try_until = following, now() + TRY
                if sock.poll(20, zmq.POLLIN):
                    frames = sock.recv_multipart()
                    server = frames[0].decode()
                    if server in alive_until:
                        alive_until[server] = now() + TTL
                    if len(frames) >= 3 and frames[1] == sequence:
                        out("reply" if frames[2:] == [body] else "bad", n, server)
                        answered = True
        out("done")
        """;

    [PiratePyZmqFact]
    public async Task OurClient_ThreeLibZmqServers_TwoKilledInTurn_EveryRequestAnswered()
    {
        var endpoints = Enumerable.Range(0, 3).Select(_ => FreelanceLoopbackTests.FreeEndpoint()).ToArray();
        var servers = endpoints.Select((e, i) => ZguidePeers.Start(Server, "flserver3.py", e)).ToArray();
        try
        {
            foreach (var server in servers)
            {
                await ZguidePeers.WaitForLineAsync(server, "ready");
            }

            await using var client = new FreelanceClient(new FreelanceOptions
            {
                Endpoints = endpoints,
                PingInterval = TimeSpan.FromMilliseconds(100),
                ServerTtl = TimeSpan.FromMilliseconds(300),
                TryTimeout = TimeSpan.FromMilliseconds(300),
                RequestTimeout = TimeSpan.FromSeconds(10),
            });

            // A batch while all three live, then one after each kill: the survivors must answer everything.
            for (int round = 0; round < 3; round++)
            {
                if (round > 0)
                {
                    await servers[round - 1].KillAsync();
                }

                var batch = Enumerable.Range(0, 20).Select(i => $"r{round}-{i}").ToArray();
                var replies = await Task.WhenAll(batch.Select(b => client.RequestAsync(Message.FromStrings(b)))).Within();
                replies.Select(r => r.GetString(0)).Should().Equal(batch);
            }

            // The last batch can only have been answered by the third server.
            string line = await ZguidePeers.WaitForLineAsync(servers[2], "request r2-");
            line.Should().StartWith("request r2-");
            client.Statistics.Replies.Should().Be(60);
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    [PiratePyZmqFact]
    public async Task LibZmqClient_OurThreeServers_OneDisposedMidRun_EveryRequestAnsweredInOrder()
    {
        static ValueTask<Message> Echo(Message m, CancellationToken _) => ValueTask.FromResult(m);
        var servers = Enumerable.Range(0, 3).Select(_ => new FreelanceServer(FreelanceLoopbackTests.FreeEndpoint(), Echo)).ToArray();
        var runs = servers.Select(s => s.RunAsync()).ToArray();
        const int Requests = 200;
        await using var python = ZguidePeers.Start(Client, "flcliapi.py", string.Join(',', servers.Select(s => s.Endpoint)), Requests.ToString(CultureInfo.InvariantCulture));
        var lines = new List<string>();
        await ZguidePeers.WaitForLineAsync(python, "reply 20 ", lines);

        await servers[0].DisposeAsync();
        await ZguidePeers.WaitForLineAsync(python, "done", lines);

        lines.Should().NotContain(l => l.StartsWith("bad", StringComparison.Ordinal));
        var replies = lines.Where(l => l.StartsWith("reply ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList();
        replies.Select(r => int.Parse(r[1], CultureInfo.InvariantCulture)).Should().Equal(Enumerable.Range(1, Requests));
        replies.Select(r => r[2]).Distinct().Should().HaveCountGreaterThan(1, "the requests after the disposal went to another server");
        replies.Last()[2].Should().NotBe(servers[0].Endpoint);
        servers.Sum(s => s.Served).Should().BeGreaterThanOrEqualTo(Requests);
        foreach (var server in servers.Skip(1))
        {
            await server.DisposeAsync();
        }

        await Task.WhenAll(runs).Within();
    }
}
