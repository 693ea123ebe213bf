using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Tests.Worker;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Client;

/// <summary><see cref="IMajordomoClient"/>: both clients behind it, and a stand-in written against the public API only.</summary>
public sealed class MajordomoClientInterfaceTests
{
    [Fact]
    public async Task QueryServiceAsync_StandIn_SendsMmiLookupAndReadsTheStatus()
    {
        var client = new StandInClient(Mmi.NotFound);

        string status = await client.QueryServiceAsync("billing");

        status.Should().Be(Mmi.NotFound);
        client.Requests.Should().ContainSingle().Which.Should().Be((Mmi.ServiceLookup, "billing"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task QueryServiceAsync_EitherClient_AnswersThroughTheInterface(bool asynchronous)
    {
        await using var broker = MiniBroker.Start(relay: true);
        using var stop = new CancellationTokenSource();
        await using var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = broker.Endpoint, Service = "echo" });
        var serving = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token);
        await broker.ExpectAsync<WorkerReady>();
        IAsyncDisposable owner = asynchronous
            ? new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = Wait.Long })
            : new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = Wait.Long });
        await using (owner)
        {
            var client = (IMajordomoClient)owner;

            (await client.QueryServiceAsync("echo").Within()).Should().Be(Mmi.Found);
            (await client.RequestAsync("echo", Message.FromStrings("hi")).Within()).Body.GetString(0).Should().Be("hi");
        }

        await stop.CancelAsync();
        await serving.Within();
    }

    /// <summary>What a user's test double looks like: records requests, answers with a fixed MMI status.</summary>
    private sealed class StandInClient(string status) : IMajordomoClient
    {
        public List<(string Service, string Body)> Requests { get; } = [];

        public Task<MdpReply> RequestAsync(string service, Message body, CancellationToken cancellationToken = default)
        {
            Requests.Add((service, body.GetString(0)));
            return Task.FromResult(new MdpReply(service, Message.FromStrings(status)));
        }
    }
}
