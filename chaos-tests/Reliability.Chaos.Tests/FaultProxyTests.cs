using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Reliability.Chaos.Network;

namespace Reliability.Chaos.Tests;

#pragma warning disable CA1001 // The proxy and the echo server are disposed by IAsyncLifetime.DisposeAsync.
public sealed class FaultProxyTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly EchoServer _echo = new();
    private FaultProxy _proxy = null!;

    public Task InitializeAsync()
    {
        _proxy = new FaultProxy(_echo.Port);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _echo.DisposeAsync();
    }

    [Fact]
    public async Task Forward_Healthy_EchoesBytesBothWays()
    {
        using var client = await ConnectAsync();

        byte[] reply = await RoundTripAsync(client, "hello proxy"u8.ToArray(), Wait);

        reply.Should().Equal("hello proxy"u8.ToArray());
        _proxy.ConnectionCount.Should().Be(1);

        // The proxy counts bytes after writing them on, so the echo can reach the client first.
        (await Eventually.TrueAsync(() => _proxy.BytesForwarded == 2 * reply.Length, Wait)).Should().BeTrue();
    }

    [Fact]
    public async Task Forward_LargePayload_ArrivesIntactAndInOrder()
    {
        using var client = await ConnectAsync();
        byte[] payload = Enumerable.Range(0, 1_000_000).Select(i => (byte)(i * 31)).ToArray();

        byte[] reply = await RoundTripAsync(client, payload, Wait);

        reply.Should().Equal(payload);
    }

    [Fact]
    public async Task Conditions_Latency_DelaysEachDirection()
    {
        using var client = await ConnectAsync();
        await RoundTripAsync(client, [1], Wait);
        _proxy.Conditions = new NetworkConditions { Latency = TimeSpan.FromMilliseconds(100) };

        var clock = Stopwatch.StartNew();
        await RoundTripAsync(client, [2], Wait);

        // 100 ms out and 100 ms back.
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190));
    }

    [Fact]
    public async Task Conditions_LatencyWithJitter_KeepsByteOrder()
    {
        using var client = await ConnectAsync();
        _proxy.Conditions = new NetworkConditions { Latency = TimeSpan.FromMilliseconds(5), Jitter = TimeSpan.FromMilliseconds(5) };
        var expected = new List<byte>();

        for (int i = 0; i < 50; i++)
        {
            await client.SendAsync(new[] { (byte)i }, SocketFlags.None);
            expected.Add((byte)i);
        }

        byte[] reply = await ReceiveExactlyAsync(client, expected.Count, Wait);
        reply.Should().Equal(expected);
    }

    [Fact]
    public async Task Conditions_Bandwidth_ThrottlesThroughput()
    {
        using var client = await ConnectAsync();
        await RoundTripAsync(client, [1], Wait);
        _proxy.Conditions = new NetworkConditions { BytesPerSecond = 100_000 };

        var clock = Stopwatch.StartNew();
        await RoundTripAsync(client, new byte[100_000], Wait);

        // 100 kB at 100 kB/s; the echo overlaps the two directions, and the first chunk goes at once.
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(700));
    }

    [Fact]
    public async Task BlackHole_ThenHeal_HoldsBytesThenDeliversThem()
    {
        using var client = await ConnectAsync();
        await RoundTripAsync(client, [1], Wait);
        _proxy.Conditions = NetworkConditions.Partitioned;

        await client.SendAsync(new byte[] { 7, 8, 9 }, SocketFlags.None);
        var held = await TryReceiveAsync(client, TimeSpan.FromMilliseconds(300));
        held.Should().BeNull("nothing crosses a partition");
        _proxy.ConnectionCount.Should().Be(1, "the sockets stay open");

        _proxy.Heal();
        byte[] reply = await ReceiveExactlyAsync(client, 3, Wait);
        reply.Should().Equal(7, 8, 9);
    }

    [Fact]
    public async Task BlackHole_NewConnection_IsNotForwardedUntilHealed()
    {
        _proxy.Conditions = NetworkConditions.Partitioned;
        using var client = await ConnectAsync();
        await client.SendAsync(new byte[] { 5 }, SocketFlags.None);

        (await TryReceiveAsync(client, TimeSpan.FromMilliseconds(300))).Should().BeNull();
        _echo.Accepted.Should().Be(0);

        _proxy.Heal();
        (await ReceiveExactlyAsync(client, 1, Wait)).Should().Equal(5);
    }

    [Fact]
    public async Task ResetAll_OpenConnection_PeerSeesReset()
    {
        using var client = await ConnectAsync();
        await RoundTripAsync(client, [1], Wait);

        _proxy.ResetAll().Should().Be(1);

        var act = async () => await ReceiveExactlyAsync(client, 1, Wait);
        (await act.Should().ThrowAsync<SocketException>()).Which.SocketErrorCode.Should().Be(SocketError.ConnectionReset);
    }

    [Fact]
    public async Task DropAll_OpenConnection_PeerSeesEndOfStream()
    {
        using var client = await ConnectAsync();
        await RoundTripAsync(client, [1], Wait);

        _proxy.DropAll().Should().Be(1);

        byte[] buffer = new byte[1];
        int read = await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Wait);
        read.Should().Be(0);
    }

    [Fact]
    public async Task ResetAll_ThenReconnect_NewConnectionIsForwarded()
    {
        using (var first = await ConnectAsync())
        {
            await RoundTripAsync(first, [1], Wait);
            _proxy.ResetAll();
        }

        using var second = await ConnectAsync();
        (await RoundTripAsync(second, [2], Wait)).Should().Equal(2);
    }

    [Fact]
    public async Task Forward_TargetDown_ClientConnectionIsClosed()
    {
        await using var proxy = new FaultProxy(FreePorts.PickOne());
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        // The refused upstream connection is passed on as a reset: seen by the connect itself or by the first read.
        var act = async () =>
        {
            await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxy.Port)).WaitAsync(Wait);
            int read = await client.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(Wait);
            read.Should().Be(0);
            throw new SocketException((int)SocketError.ConnectionReset);
        };

        (await act.Should().ThrowAsync<SocketException>()).Which.SocketErrorCode.Should().Be(SocketError.ConnectionReset);
    }

    [Fact]
    public void Conditions_Invalid_Throws()
    {
        var act = () => _proxy.Conditions = new NetworkConditions { Latency = TimeSpan.FromMilliseconds(-1), BytesPerSecond = -5 };

        act.Should().Throw<ArgumentException>().WithMessage("*Latency*BytesPerSecond*");
    }

    [Fact]
    public async Task IsListeningAsync_ProxyPortAndFreePort_TellThemApart()
    {
        (await FreePorts.IsListeningAsync(_proxy.Port, Wait)).Should().BeTrue();
        (await FreePorts.IsListeningAsync(FreePorts.PickOne(), Wait)).Should().BeFalse();
    }

    [Fact]
    public void Pick_SeveralPorts_AreDistinct()
    {
        FreePorts.Pick(10).Should().OnlyHaveUniqueItems().And.HaveCount(10);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _proxy.Port)).WaitAsync(Wait);
        return socket;
    }

    private static async Task<byte[]> RoundTripAsync(Socket socket, byte[] payload, TimeSpan timeout)
    {
        var receive = ReceiveExactlyAsync(socket, payload.Length, timeout);
        int sent = 0;
        while (sent < payload.Length)
        {
            sent += await socket.SendAsync(payload.AsMemory(sent), SocketFlags.None).AsTask().WaitAsync(timeout);
        }

        return await receive;
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, TimeSpan timeout)
    {
        byte[] buffer = new byte[count];
        int received = 0;
        using var cancel = new CancellationTokenSource(timeout);
        while (received < count)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, cancel.Token);
            if (read == 0)
            {
                throw new EndOfStreamException($"closed after {received} of {count} bytes");
            }

            received += read;
        }

        return buffer;
    }

    private static async Task<byte[]?> TryReceiveAsync(Socket socket, TimeSpan timeout)
    {
        byte[] buffer = new byte[64];
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            return buffer[..read];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A TCP echo server on 127.0.0.1:0.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _accepted;

        public EchoServer()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _loop = AcceptAsync();
        }

        public int Port { get; }

        public int Accepted => Volatile.Read(ref _accepted);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _loop.WaitAsync(Wait).ContinueWith(_ => { });
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    _ = EchoAsync(socket);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task EchoAsync(Socket socket)
        {
            using (socket)
            {
                byte[] buffer = new byte[65536];
                try
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        int read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException)
                {
                    // Peer gone.
                }
            }
        }
    }
}
