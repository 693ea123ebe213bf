using System.Collections.Concurrent;

namespace Reliability.Transport.Tests.Sockets;

/// <summary>The libzmq monitor events beyond connect/accept/handshake: CONNECT_DELAYED, CLOSE_FAILED, MONITOR_STOPPED.</summary>
public sealed class MonitorEventTests
{
    private static ConcurrentQueue<SocketEvent> Record(ZmqSocket socket)
    {
        var events = new ConcurrentQueue<SocketEvent>();
        socket.EventRaised += (_, e) => events.Enqueue(e);
        return events;
    }

    /// <summary>A loopback port nobody listens on (taken from the OS, then released).</summary>
    private static string UnusedTcpEndpoint()
    {
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return $"tcp://127.0.0.1:{port}";
    }

    [Fact]
    public async Task Connect_TcpPortWithoutListener_RaisesConnectDelayedThenRetried()
    {
        string endpoint = UnusedTcpEndpoint();
        await using var dealer = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        var delayed = dealer.NextEvent(SocketEventKind.ConnectDelayed);
        var retried = dealer.NextEvent(SocketEventKind.ConnectRetried);

        dealer.Connect(endpoint);

        (await delayed.Within()).Endpoint.Should().Be(endpoint);
        await retried.Within();
    }

    [Fact]
    public async Task Connect_InprocNameNotBound_RaisesConnectDelayed()
    {
        string endpoint = $"inproc://monitor-{Guid.NewGuid():N}";
        await using var dealer = new DealerSocket();
        var delayed = dealer.NextEvent(SocketEventKind.ConnectDelayed);

        dealer.Connect(endpoint);

        (await delayed.Within()).Endpoint.Should().Be(endpoint);
    }

    [Fact]
    public async Task Dispose_Socket_RaisesMonitorStoppedOnceAsTheLastEvent()
    {
        var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket();
        var up = router.NextEvent(SocketEventKind.HandshakeSucceeded);
        dealer.Connect(endpoint);
        await up.Within();
        var events = Record(router);

        await router.DisposeAsync().AsTask().Within();
        await router.DisposeAsync().AsTask().Within();
        router.Dispose();

        events.Count(e => e.Kind == SocketEventKind.MonitorStopped).Should().Be(1);
        events.Last().Kind.Should().Be(SocketEventKind.MonitorStopped);
        events.Last().Endpoint.Should().BeEmpty();
        events.Should().Contain(e => e.Kind == SocketEventKind.Closed, "the endpoint closed before the monitor stopped");
    }

    [Fact]
    public async Task Dispose_SocketWithoutEndpoints_RaisesMonitorStopped()
    {
        var pair = new PairSocket();
        var stopped = pair.NextEvent(SocketEventKind.MonitorStopped);

        await pair.DisposeAsync().AsTask().Within();

        await stopped.Within();
    }

    [Fact]
    public async Task Dispose_IpcFileCannotBeRemoved_RaisesCloseFailedInsteadOfThrowing()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rel-test-{Guid.NewGuid():N}.ipc");
        var pull = new PullSocket();
        pull.Bind($"ipc://{path}");
        var events = Record(pull);
        var failed = pull.NextEvent(SocketEventKind.CloseFailed);

        // Something else took the path: a directory with content cannot be removed as a file.
        File.Delete(path);
        Directory.CreateDirectory(Path.Combine(path, "occupied"));
        try
        {
            await pull.DisposeAsync().AsTask().Within();

            var closeFailed = await failed.Within();
            closeFailed.Endpoint.Should().Be($"ipc://{path}");
            closeFailed.Exception.Should().NotBeNull();
            events.Should().NotContain(e => e.Kind == SocketEventKind.Closed);
            events.Last().Kind.Should().Be(SocketEventKind.MonitorStopped);
        }
        finally
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
