using System.Text;
using Reliability.Testing.PyZmq;

namespace Reliability.Transport.Tests.Interop;

/// <summary>Tests of the pyzmq peer harness itself (no transport involved): two libzmq sockets talking.</summary>
public sealed class PyZmqPeerSelfTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [PyZmqFact]
    public async Task StartAsync_Default_ReportsOwnPidAndLibZmq434()
    {
        await using var peer = await PyZmqPeer.StartAsync();

        peer.ReportedProcessId.Should().Be(peer.ProcessId);
        (await peer.PingAsync()).Should().Be(peer.ProcessId);
        peer.LibZmqVersion.Should().StartWith("4.");
        Directory.Exists($"/proc/{peer.ProcessId}").Should().BeTrue();
        PythonProcess.LiveProcessIds.Should().Contain(peer.ProcessId);
    }

    [PyZmqFact]
    public async Task DisposeAsync_PeerBlockedInReceive_KillsAndReapsProcess()
    {
        var peer = await PyZmqPeer.StartAsync();
        var pid = peer.ProcessId;
        var pull = await peer.CreateSocketAsync("PULL");
        await pull.BindAsync();
        var blocked = pull.TryReceiveAsync(TimeSpan.FromSeconds(60));

        await peer.DisposeAsync().AsTask().WaitAsync(Wait);

        // Reaped means no zombie entry either.
        Directory.Exists($"/proc/{pid}").Should().BeFalse();
        PythonProcess.LiveProcessIds.Should().NotContain(pid);
        peer.HasExited.Should().BeTrue();
        await blocked.Invoking(t => t.WaitAsync(Wait)).Should().ThrowAsync<Exception>();
    }

    [PyZmqFact]
    public async Task SendReceive_DealerToRouter_CarriesBinaryEmptyAndIdentityFrames()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var router = await peer.CreateSocketAsync("ROUTER");
        var endpoint = await router.BindAsync("tcp://127.0.0.1:0");
        var dealer = await peer.CreateSocketAsync("DEALER", new PeerSocketOptions { RoutingId = "abc"u8.ToArray() });
        await dealer.ConnectAsync(endpoint);

        await dealer.SendAsync([], [0x00, 0xFF], "x"u8.ToArray());
        var received = await router.ReceiveAsync(Wait);
        await router.SendAsync(received[0], "back"u8.ToArray());
        var reply = await dealer.ReceiveAsync(Wait);

        endpoint.Should().MatchRegex(@"^tcp://127\.0\.0\.1:\d+$").And.NotEndWith(":0");
        received.Should().HaveCount(4);
        received[0].Should().Equal("abc"u8.ToArray());
        received[1].Should().BeEmpty();
        received[2].Should().Equal(0x00, 0xFF);
        received[3].Should().Equal((byte)'x');
        reply.Should().ContainSingle().Which.Should().Equal("back"u8.ToArray());
    }

    [PyZmqFact]
    public async Task TryReceiveAsync_NothingSent_ReturnsNull()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var pull = await peer.CreateSocketAsync("PULL");
        await pull.BindAsync();

        var message = await pull.TryReceiveAsync(TimeSpan.FromMilliseconds(50));

        message.Should().BeNull();
    }

    [PyZmqFact]
    public async Task SendAsync_MandatoryRouterUnknownId_ThrowsHostUnreachable()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var router = await peer.CreateSocketAsync("ROUTER", new PeerSocketOptions { RouterMandatory = true });
        await router.BindAsync();

        var act = () => router.SendAsync("nobody"u8.ToArray(), "x"u8.ToArray());

        (await act.Should().ThrowAsync<PyZmqPeerException>()).Which.Error.Should().Be("EHOSTUNREACH");
        (await peer.PingAsync()).Should().Be(peer.ProcessId, "an error reply leaves the peer usable");
    }

    [PyZmqFact]
    public async Task RequestAsync_ReplyLaterThanBudget_ThrowsTimeoutAndKillsPeer()
    {
        await using var peer = await PyZmqPeer.StartAsync(new PyZmqPeerOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) });

        var act = () => peer.RequestAsync("sleep", new() { ["ms"] = 20_000 });

        await act.Should().ThrowAsync<TimeoutException>();
        peer.HasExited.Should().BeTrue();
    }

    [PyZmqFact]
    public async Task RequestAsync_PeerKilled_ThrowsPeerException()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        await peer.KillAsync();

        var act = () => peer.PingAsync();

        (await act.Should().ThrowAsync<PyZmqPeerException>()).Which.Error.Should().Be("EOF");
    }

    [PyZmqFact]
    public async Task WaitForEventAsync_DealerConnectsToOtherPeer_SeesHandshakeSucceeded()
    {
        await using var server = await PyZmqPeer.StartAsync();
        await using var client = await PyZmqPeer.StartAsync();
        var router = await server.CreateSocketAsync("ROUTER");
        var endpoint = await router.BindAsync();
        var dealer = await client.CreateSocketAsync("DEALER");
        await dealer.StartMonitorAsync();

        await dealer.ConnectAsync(endpoint);
        var handshake = await dealer.WaitForEventAsync(Wait, "HANDSHAKE_SUCCEEDED");

        handshake.Endpoint.Should().Be(endpoint);
        server.ProcessId.Should().NotBe(client.ProcessId);
    }

    [PyZmqFact]
    public async Task EchoAsync_ReqToRep_EchoesEachRequest()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var rep = await peer.CreateSocketAsync("REP");
        var endpoint = await rep.BindAsync();
        await using var client = await PyZmqPeer.StartAsync();
        var req = await client.CreateSocketAsync("REQ");
        await req.ConnectAsync(endpoint);

        var echo = rep.EchoAsync(1, Wait);
        await req.SendStringsAsync("ping", "two");
        var reply = await req.ReceiveAsync(Wait);

        (await echo.WaitAsync(Wait)).Should().Be(1);
        reply.Select(f => Encoding.UTF8.GetString(f)).Should().Equal("ping", "two");
    }

    [PyZmqFact]
    public async Task ExitAsync_Requested_ExitsWithCodeZero()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        await peer.CreateSocketAsync("DEALER");

        var code = await peer.ExitAsync();

        code.Should().Be(0);
        peer.HasExited.Should().BeTrue();
    }

    [PyZmqFact]
    public async Task Start_ArbitraryScript_TalksLinesAndIsKilledOnDispose()
    {
        var script = Path.Combine(Path.GetTempPath(), $"interop-selftest-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\n");
        try
        {
            var process = PythonProcess.Start(script, ["--flag"]);
            await using (process)
            {
                await process.WriteLineAsync("hello", Wait);
                (await process.ReadLineAsync(Wait)).Should().Be("HELLO");
            }

            process.HasExited.Should().BeTrue();
            Directory.Exists($"/proc/{process.ProcessId}").Should().BeFalse();
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public void Probe_MissingInterpreter_ReportsUnavailable()
    {
        var probe = PyZmqEnvironment.Probe("/nonexistent/python3");

        probe.IsAvailable.Should().BeFalse();
        probe.Problem.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void GetSkipReason_MissingOutsideCi_SkipsWithReason()
    {
        var probe = new PyZmqProbeResult("/usr/bin/python3", false, null, null, "No module named 'zmq'");

        PyZmqEnvironment.GetSkipReason(probe, isCi: false).Should().Contain("python3-zmq").And.Contain("No module named 'zmq'");
    }

    [Fact]
    public void GetSkipReason_MissingInCi_RunsSoTheTestFails()
    {
        var probe = new PyZmqProbeResult("/usr/bin/python3", false, null, null, "No module named 'zmq'");

        PyZmqEnvironment.GetSkipReason(probe, isCi: true).Should().BeNull();
    }

    [Fact]
    public void GetSkipReason_Available_Runs()
    {
        var probe = new PyZmqProbeResult("/usr/bin/python3", true, "24.0.1", "4.3.4", null);

        PyZmqEnvironment.GetSkipReason(probe, isCi: false).Should().BeNull();
    }
}
