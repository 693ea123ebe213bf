using Reliability.Testing.PyZmq;
using Reliability.Transport.Tests.Interop;
using static Reliability.Transport.Tests.Interop.InteropHelpers;
using static Reliability.Transport.Tests.Proxies.RunningProxy;

namespace Reliability.Transport.Tests.Proxies;

/// <summary>Our proxy between libzmq (pyzmq) peers.</summary>
public sealed class ProxyInteropTests
{
    [PyZmqFact]
    public async Task RunAsync_LibZmqReqClientsThroughOurQueueToLibZmqRepWorker_RepliesReachTheirClients()
    {
        await using var proxy = RunningProxy.Start(new RouterSocket(Options()), new DealerSocket(Options()));
        await using var peer = await PyZmqPeer.StartAsync();
        var worker = await peer.CreateSocketAsync("REP");
        await worker.ConnectAsync(proxy.BackendEndpoint);
        var clients = new[] { await peer.CreateSocketAsync("REQ"), await peer.CreateSocketAsync("REQ") };
        foreach (var client in clients)
        {
            await client.ConnectAsync(proxy.FrontendEndpoint);
        }

        for (int round = 0; round < 3; round++)
        {
            for (int c = 0; c < clients.Length; c++)
            {
                byte[][] request = [Utf8($"client {c} round {round}"), [0x00, 0xFF], []];
                await clients[c].SendAsync(request);
                (await worker.EchoAsync(1, Wait)).Should().Be(1);
                var reply = await clients[c].ReceiveAsync(Wait);
                AssertFrames(reply, request, $"client {c} round {round}");
            }
        }

        var stats = await proxy.StopAsync();
        stats.FrontendToBackendMessages.Should().Be(6);
        stats.BackendToFrontendMessages.Should().Be(6);
    }

    [PyZmqFact]
    public async Task RunAsync_LibZmqPushThroughOurStreamerToLibZmqPull_DeliversAllInOrder()
    {
        const int Count = 1000;
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        await using var peer = await PyZmqPeer.StartAsync();
        var consumer = await peer.CreateSocketAsync("PULL");
        await consumer.ConnectAsync(proxy.BackendEndpoint);
        var producer = await peer.CreateSocketAsync("PUSH");
        await producer.ConnectAsync(proxy.FrontendEndpoint);

        (await producer.SendManyAsync(Count, size: 64, prefix: [Utf8("stream")])).Should().Be(Count);
        var result = await consumer.ReceiveManyAsync(Count, skip: 1, Wait);

        result.Received.Should().Be(Count);
        result.InOrder.Should().BeTrue(result.FirstBad is null ? string.Empty : string.Join(' ', result.FirstBad));
        result.Prefixes.Should().ContainSingle().Which.Should().Equal(Utf8("stream"));
    }
}
