using Reliability.Transport.Tests.Interop.JeroMq;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>
/// MDP/0.1 client and worker written with JeroMQ 0.3.6 (ZMTP/2.0 only) served by our broker: the
/// cell that hung before the transport detected older ZMTP versions (docs/wire/zmtp.md §17).
/// </summary>
public sealed class BrokerJeroMqInteropTests
{
    private const int Count = 5;

    [JeroMqFact]
    public async Task JeroMqWorkerAndJeroMqClient_ThroughOurBroker_EveryRequestAnswered()
    {
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { HeartbeatInterval = TimeSpan.FromMilliseconds(250), Liveness = 8 });
        await using var worker = await JeroMqPeer.StartAsync("MDPWORKER", bind: false, broker.Endpoint, Count);
        await broker.WaitForWorkersAsync(1);

        await using var client = await JeroMqPeer.StartAsync("MDPCLIENT", bind: false, broker.Endpoint, Count);
        for (int i = 0; i < Count; i++)
        {
            var reply = await client.ReceivedAsync();
            reply.Select(f => System.Text.Encoding.ASCII.GetString(f)).Should().Equal("MDPC01", "echo", $"jero:request {i}");
        }

        await client.CompletedAsync();
        await worker.CompletedAsync();
        broker.Metric("messages.invalid").Should().Be(0);
    }
}
