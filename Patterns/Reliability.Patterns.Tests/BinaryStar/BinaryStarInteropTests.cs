using System.Globalization;
using System.Text;
using Reliability.Patterns.BinaryStar;
using Reliability.Patterns.Tests.LazyPirate;
using Reliability.Patterns.Tests.ParanoidPirate;
using Reliability.Testing.PyZmq;
using Reliability.Transport;
using static Reliability.Patterns.Tests.BinaryStar.BinaryStarTestKit;

namespace Reliability.Patterns.Tests.BinaryStar;

/// <summary>Our Binary Star nodes against libzmq (pyzmq): the state wire, and the zguide's bstarcli against our pair.</summary>
public sealed class BinaryStarInteropTests
{
    /// <summary>
    /// bstarcli: a REQ client of a Binary Star pair, as in the zguide. Sends the decimal sequence
    /// numbers 1..N one at a time; on a timeout it closes its socket, switches to the other endpoint,
    /// waits the settle delay and resends the same request. Arguments: endpoint, endpoint, N,
    /// timeout ms, settle ms. Prints <c>reply SEQ</c>, <c>failover ENDPOINT</c>, <c>bad REPLY</c>, then <c>done</c>.
    /// </summary>
    private const string Client = PyZmqScript.Preamble + """
        import zmq

        servers = [sys.argv[1], sys.argv[2]]
        requests = int(sys.argv[3])
        timeout = int(sys.argv[4])
        settle = int(sys.argv[5]) / 1000.0

        ctx = zmq.Context()

        def connect(endpoint):
            sock = ctx.socket(zmq.REQ)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(endpoint)
            return sock

        current = 0
        client = connect(servers[current])
        stop_at = time.monotonic() + 120
        for sequence in range(1, requests + 1):
            request = str(sequence).encode()
            client.send(request)
            while time.monotonic() < stop_at:
                if client.poll(timeout, zmq.POLLIN):
                    reply = client.recv()
                    if reply == request:
                        out("reply", sequence)
                        break
                    out("bad", reply.decode("utf-8", "replace"))
                else:
                    client.close()
                    current = (current + 1) % 2
                    out("failover", servers[current])
                    time.sleep(settle)
                    client = connect(servers[current])
                    client.send(request)
        out("done")
        """;

    [PyZmqFact]
    public async Task ZguideClient_ActiveDisposedMidRun_FailsOverAndEveryRequestIsAnswered()
    {
        string primaryHa = FreeEndpoint();
        string backupHa = FreeEndpoint();
        var (primaryObserver, primaryActive) = WaitFor(BinaryStarState.Active);
        var (backupObserver, backupPassive) = WaitFor(BinaryStarState.Passive);
        await using var primary = EchoServer(BinaryStarRole.Primary, "tcp://127.0.0.1:0", primaryHa, backupHa, primaryObserver);
        await using var backup = EchoServer(BinaryStarRole.Backup, "tcp://127.0.0.1:0", backupHa, primaryHa, backupObserver);
        _ = primary.RunAsync();
        _ = backup.RunAsync();
        await Task.WhenAll(primaryActive, backupPassive).WaitAsync(Wait);

        const int Requests = 400;
        await using var python = ZguidePeers.Start(Client, "bstarcli.py", primary.FrontendEndpoint!, backup.FrontendEndpoint!, Requests.ToString(CultureInfo.InvariantCulture), "500", "200");
        var lines = new List<string>();
        await ZguidePeers.WaitForLineAsync(python, "reply 20", lines);

        await primary.DisposeAsync();
        string done = await ZguidePeers.WaitForLineAsync(python, "done", lines);

        done.Should().Be("done");
        lines.Should().NotContain(l => l.StartsWith("bad", StringComparison.Ordinal));
        lines.Should().Contain("failover " + backup.FrontendEndpoint);
        var replies = lines.Where(l => l.StartsWith("reply ", StringComparison.Ordinal)).Select(l => int.Parse(l[6..], CultureInfo.InvariantCulture)).ToList();
        replies.Should().Equal(Enumerable.Range(1, Requests));
        backup.Served.Should().BeGreaterThan(0);
        backup.Node.State.Should().Be(BinaryStarState.Active);
    }

    [PyZmqFact]
    public async Task StateWire_OneDecimalFrame_BothWays()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var pub = await peer.CreateSocketAsync("PUB");
        string peerEndpoint = await pub.BindAsync();
        var (observer, active) = WaitFor(BinaryStarState.Active);
        await using var node = new BinaryStarNode(new BinaryStarOptions
        {
            Role = BinaryStarRole.Primary,
            LocalEndpoint = "tcp://127.0.0.1:0",
            RemoteEndpoint = peerEndpoint,
            Heartbeat = Heartbeat,
            OnStateChanged = observer,
        });
        string local = node.Bind();
        var sub = await peer.CreateSocketAsync("SUB");
        await sub.SetOptionAsync("SUBSCRIBE", string.Empty);
        await sub.ConnectAsync(local);
        _ = node.RunAsync();

        // Our primary publishes "1" while it waits; libzmq sees exactly one one-byte frame.
        var first = await sub.ReceiveAsync();
        first.Should().ContainSingle().Which.Should().Equal(Encoding.ASCII.GetBytes("1"));

        // A libzmq backup publishing "2" makes it active (repeated: a PUB drops what precedes the subscription).
        for (int i = 0; i < 200 && !active.IsCompleted; i++)
        {
            await pub.SendStringsAsync("2");
            await Task.WhenAny(active, Task.Delay(Heartbeat, TimeProvider.System));
        }

        await active.WaitAsync(Wait);
        for (int i = 0; i < 100; i++)
        {
            var state = await sub.ReceiveAsync();
            if (Encoding.ASCII.GetString(state.Single()) == "3")
            {
                return;
            }
        }

        throw new InvalidOperationException("the active node never published 3");
    }
}
