using Reliability.Testing.PyZmq;
using static Reliability.Transport.Tests.Interop.InteropHelpers;

namespace Reliability.Transport.Tests.Interop;

/// <summary>Recovery across restarts: a libzmq server killed and restarted, and our server re-created.</summary>
public sealed class ReconnectInteropTests
{
    [PyZmqTheory]
    [InlineData("REQ", "REP")]
    [InlineData("DEALER", "ROUTER")]
    public async Task Connect_LibZmqServerKilledAndRestartedOnSamePort_OurSocketRecovers(string ourType, string theirType)
    {
        await using var ours = new OurSide(ourType);
        var first = await PyZmqPeer.StartAsync();
        string endpoint;
        await using (first)
        {
            var server = new TheirSide(await first.CreateSocketAsync(theirType));
            endpoint = await server.Socket.BindAsync();
            ours.Socket.Connect(endpoint);
            await RoundTripAsync(ours, server, "before kill");

            // SIGKILL: the kernel closes the connection, libzmq says no goodbye.
            await first.KillAsync();
            await ours.Events.WaitAsync(SocketEventKind.Disconnected);
        }

        await using var second = await PyZmqPeer.StartAsync();
        var restarted = new TheirSide(await second.CreateSocketAsync(theirType));
        (await restarted.Socket.BindAsync(endpoint)).Should().Be(endpoint);
        await ours.Events.WaitAsync(SocketEventKind.HandshakeSucceeded, occurrence: 2);

        await RoundTripAsync(ours, restarted, "after restart");
    }

    [PyZmqTheory]
    [InlineData("REP", "REQ")]
    [InlineData("ROUTER", "DEALER")]
    public async Task Bind_OurSocketDisposedAndRecreatedOnSamePort_LibZmqReconnects(string ourType, string theirType)
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var client = new TheirSide(await peer.CreateSocketAsync(theirType));
        await client.Socket.StartMonitorAsync();

        var first = new OurSide(ourType);
        string endpoint;
        await using (first)
        {
            endpoint = first.Socket.Bind("tcp://127.0.0.1:0");
            await client.Socket.ConnectAsync(endpoint);
            await client.Socket.WaitForEventAsync(Wait, "HANDSHAKE_SUCCEEDED");
            await RoundTripAsync(client, first, "before dispose");
        }

        // libzmq reconnects after a clean close but never after what it sees as a protocol error,
        // so the next handshake is also the check that our shutdown was clean.
        var gone = await client.Socket.WaitForEventAsync(Wait, "DISCONNECTED", "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_NO_DETAIL");
        gone.Kind.Should().Be("DISCONNECTED");

        await using var second = new OurSide(ourType);
        second.Socket.Bind(endpoint).Should().Be(endpoint);
        var back = await client.Socket.WaitForEventAsync(Wait, "HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_NO_DETAIL");
        back.Kind.Should().Be("HANDSHAKE_SUCCEEDED");

        await RoundTripAsync(client, second, "after re-create");
    }
}
