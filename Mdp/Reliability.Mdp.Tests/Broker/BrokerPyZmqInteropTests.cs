using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>MDP/0.1 peers written with pyzmq (libzmq 4.3.4) served by our broker, alone and next to our own MDP/0.2 peers.</summary>
public sealed class BrokerPyZmqInteropTests
{
    private const int HeartbeatMs = 250;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(8);

    private static LoopbackBroker StartBroker() =>
        LoopbackBroker.Start(LoopbackBroker.FastOptions with { HeartbeatInterval = TimeSpan.FromMilliseconds(HeartbeatMs), Liveness = 8 });

    [PyZmqFact]
    public async Task Interop_PyZmqWorkerAndPyZmqClient_AllRequestsServedAndMmiFindsTheWorker()
    {
        await using var broker = StartBroker();
        await using var worker = await PyZmqMdpPeer.StartWorkerAsync(broker.Endpoint, "echo", HeartbeatMs, maxRequests: 1000);
        await broker.WaitForWorkersAsync(1);

        await using var client = await PyZmqMdpPeer.StartClientAsync(broker.Endpoint, "echo", count: 50);
        var done = await client.WaitForAsync("done", Wait);

        done["ok"]!.GetValue<int>().Should().Be(50);
        done["retries"]!.GetValue<int>().Should().Be(0);
        done["mmi"]!.GetValue<string>().Should().Be("200");
        done["prefix"]!.GetValue<string>().Should().Be("py:");
        broker.Metric("messages.invalid").Should().Be(0);
    }

    [PyZmqFact]
    public async Task Interop_PyZmqClientAndOurMdp02Worker_RepliesConvertedToMdp01()
    {
        await using var broker = StartBroker();
        await using var worker = new RawWorker(broker.Endpoint, "echo", MdpVersion.V02).HeartbeatEvery(TimeSpan.FromMilliseconds(HeartbeatMs));
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            // Bounded by the token: a PARTIAL (which an MDP/0.1 client must never see) then the FINAL.
            while (!stop.IsCancellationRequested)
            {
                if (await worker.ReceiveAsync(TimeSpan.FromMilliseconds(100)) is WorkerRequest request)
                {
                    worker.Send(new WorkerPartial(request.ClientAddress, "partial"u8.ToArray()));
                    worker.Send(new WorkerFinal(request.ClientAddress, (byte[])[.. "net:"u8.ToArray(), .. request.Body[0].ToArray()]));
                }
            }
        });
        await broker.WaitForWorkersAsync(1);

        await using var client = await PyZmqMdpPeer.StartClientAsync(broker.Endpoint, "echo", count: 20);
        var done = await client.WaitForAsync("done", Wait);
        await stop.CancelAsync();
        await serving.WaitAsync(Wait);

        done["ok"]!.GetValue<int>().Should().Be(20);
        done["prefix"]!.GetValue<string>().Should().Be("net:");
        broker.Metric("replies.dropped").Should().Be(20, "each PARTIAL is withheld from the MDP/0.1 client");
    }

    [PyZmqFact]
    public async Task Interop_OurMdp02ClientAndPyZmqWorker_GetsFinalReplies()
    {
        await using var broker = StartBroker();
        await using var worker = await PyZmqMdpPeer.StartWorkerAsync(broker.Endpoint, "echo", HeartbeatMs, maxRequests: 10);
        await using var client = new RawClient(broker.Endpoint, MdpVersion.V02);

        for (int i = 0; i < 10; i++)
        {
            (await client.RequestAsync("echo", $"n{i}")).Should().Be($"py:n{i}");
        }

        var done = await worker.WaitForAsync("done", Wait);
        done["served"]!.GetValue<int>().Should().Be(10);
    }

    [PyZmqFact]
    public async Task Interop_BrokerStops_PyZmqWorkerGetsDisconnect()
    {
        var broker = StartBroker();
        await using var worker = await PyZmqMdpPeer.StartWorkerAsync(broker.Endpoint, "echo", HeartbeatMs, maxRequests: 1000);
        await broker.WaitForWorkersAsync(1);

        await broker.StopAsync();
        var done = await worker.WaitForAsync("done", Wait);
        await broker.DisposeAsync();

        done["reason"]!.GetValue<string>().Should().Be("disconnect");
        done["heartbeats"]!.GetValue<int>().Should().BeGreaterThanOrEqualTo(0);
    }
}
