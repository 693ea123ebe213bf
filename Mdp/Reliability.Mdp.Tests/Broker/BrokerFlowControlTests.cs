using System.Buffers.Binary;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>Over the wire: a client that sends everything before it reads gets every reply, and one that floods does not stop the others.</summary>
public sealed class BrokerFlowControlTests
{
    [Theory]
    [InlineData(100_000, null)]
    [InlineData(20_000, 500)]
    public async Task ClientThatPipelinesEverything_GetsEveryReply(int requests, int? perClientLimit)
    {
        // The second case keeps the client paused most of the time: 20 000 requests through a 500-request limit.
        var options = LoopbackBroker.FastOptions with
        {
            RequestExpiry = TimeSpan.FromMinutes(5),
            MaxQueuedRequestsPerService = perClientLimit ?? BrokerOptions.Default.MaxQueuedRequestsPerService,
        };
        await using var broker = LoopbackBroker.Start(options);
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 2)
            .Select(_ => new MajordomoWorker(new WorkerOptions { BrokerEndpoint = broker.Endpoint, Service = "echo" }).RunAsync(static (r, _) => ValueTask.FromResult(r.Body), stop.Token))
            .ToList();
        await using var client = new DealerSocket();
        client.Connect(broker.Endpoint);

        // Everything first, as the zguide's mdclient2 does: the broker must hold what the client does not read yet.
        var sending = Task.Run(async () =>
        {
            var body = new byte[4];
            for (int i = 0; i < requests; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(body, i);
                await client.SendAsync(MdpCodec.BuildFromClient(new ClientRequest("echo", (ReadOnlyMemory<byte>)body.ToArray()), MdpVersion.V01, MdpClientSocket.Dealer));
            }
        });
        await sending.WaitAsync(TimeSpan.FromSeconds(120));

        var seen = new bool[requests];
        for (int i = 0; i < requests; i++)
        {
            var reply = await client.TryReceiveAsync(TimeSpan.FromSeconds(30));
            reply.Should().NotBeNull($"reply {i} of {requests} should arrive");
            var parsed = MdpCodec.ParseAtClient(reply!, MdpClientSocket.Dealer);
            parsed.IsSuccess.Should().BeTrue();
            int index = BinaryPrimitives.ReadInt32LittleEndian(((ClientReply)parsed.Command!).Body[0].Span);
            seen[index].Should().BeFalse("each request is answered once");
            seen[index] = true;
        }

        seen.Should().AllSatisfy(s => s.Should().BeTrue());
        broker.Metric("requests.dropped").Should().Be(0);
        broker.Metric("replies.dropped").Should().Be(0);
        broker.Metric("clients.paused").Should().BeGreaterThan(0, "the client outran the workers, so flow control held it back");
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [PyZmqFact]
    public async Task PyZmqClientThatPipelinesEverything_GetsEveryReply()
    {
        const int requests = 30_000;
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { RequestExpiry = TimeSpan.FromMinutes(5) });
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 2)
            .Select(_ => new MajordomoWorker(new WorkerOptions { BrokerEndpoint = broker.Endpoint, Service = "echo" }).RunAsync(static (r, _) => ValueTask.FromResult(r.Body), stop.Token))
            .ToList();
        await broker.WaitForWorkersAsync(2);

        await using var client = await PyZmqMdpPeer.StartPipelineClientAsync(broker.Endpoint, "echo", requests);
        var done = await client.WaitForAsync("done", TimeSpan.FromSeconds(120));

        done["ok"]!.GetValue<int>().Should().Be(requests);
        done["wrong"]!.GetValue<int>().Should().Be(0);
        broker.Metric("requests.dropped").Should().Be(0);
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
    }
}
