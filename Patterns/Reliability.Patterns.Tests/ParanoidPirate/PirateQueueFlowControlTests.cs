using System.Buffers.Binary;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

/// <summary>A client that sends everything before it reads gets every reply through the Paranoid Pirate queue.</summary>
public sealed class PirateQueueFlowControlTests
{
    [Theory]
    [InlineData(20_000, 100_000)]
    [InlineData(5_000, 200)]
    public async Task ClientThatPipelinesEverything_GetsEveryReply(int requests, int maxHeldReplies)
    {
        // The second case keeps the client paused most of the time: its replies pile up far beyond 200.
        var queue = new ParanoidPirateQueue(new ParanoidPirateQueueOptions
        {
            FrontendEndpoint = PirateTestKit.AnyPort,
            BackendEndpoint = PirateTestKit.AnyPort,
            Heartbeat = PirateTestKit.FastHeartbeat,
            MaxHeldRepliesPerClient = maxHeldReplies,
        });
        await using var _ = queue;
        queue.Bind();
        await using var running = Running.Start(queue.RunAsync);
        var workers = Enumerable.Range(0, 2)
            .Select(_ => Running.Start(new ParanoidPirateWorker(PirateTestKit.Echo, new ParanoidPirateWorkerOptions { Endpoint = queue.BackendEndpoint!, Heartbeat = PirateTestKit.FastHeartbeat }).RunAsync))
            .ToList();
        await using var client = new DealerSocket();
        client.Connect(queue.FrontendEndpoint!);

        // Everything first: the queue must hold the replies the client does not read yet.
        await Task.Run(async () =>
        {
            for (int i = 0; i < requests; i++)
            {
                var body = new byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(body, i);
                await client.SendAsync(Message.FromFrames([], body));
            }
        }).WaitAsync(TimeSpan.FromSeconds(120));

        var seen = new bool[requests];
        for (int i = 0; i < requests; i++)
        {
            var reply = await client.TryReceiveAsync(TimeSpan.FromSeconds(30));
            reply.Should().NotBeNull($"reply {i} of {requests} should arrive");
            int index = BinaryPrimitives.ReadInt32LittleEndian(reply![1].Span);
            seen[index].Should().BeFalse("each request is answered once");
            seen[index] = true;
        }

        foreach (var worker in workers)
        {
            await worker.DisposeAsync();
        }
    }
}
