using Reliability.Chaos.Workload;
using Reliability.Transport;

namespace Reliability.Chaos.Tests;

public sealed class WorkloadDriverTests
{
    private static readonly WorkloadOptions Small = new()
    {
        Clients = 3,
        RequestsPerClient = 5,
        Window = 2,
        Pacing = TimeSpan.Zero,
        RequestTimeout = TimeSpan.FromMilliseconds(1),
        Attempts = 1,
    };

    [Fact]
    public async Task RunAsync_EchoClient_EveryRequestAnsweredWithUniqueIds()
    {
        var progress = new WorkloadProgress();

        var records = await RunAsync((_, _) => new FakeClient(body => Task.FromResult(body)), Small, progress);

        records.Should().HaveCount(Small.TotalRequests).And.OnlyContain(r => r.Outcome == RequestOutcome.Answered);
        records.Select(r => r.Id).Should().OnlyHaveUniqueItems();
        progress.Answered.Should().Be(Small.TotalRequests);
        progress.InFlight.Should().Be(0);
    }

    [Fact]
    public async Task RunAsync_ClientReturnsAnotherRequestsReply_RecordsWrongReply()
    {
        var records = await RunAsync((_, _) => new FakeClient(_ => Task.FromResult(Message.FromStrings("someone else's reply"))), Small, new WorkloadProgress());

        records.Should().OnlyContain(r => r.Outcome == RequestOutcome.WrongReply);
        records[0].Detail.Should().Contain("someone else's reply");
    }

    [Fact]
    public async Task RunAsync_ClientGivesUp_RecordsFailedWithTheError()
    {
        var records = await RunAsync((_, _) => new FakeClient(_ => Task.FromException<Message>(new TimeoutException("no reply after 3 attempts"))), Small, new WorkloadProgress());

        records.Should().OnlyContain(r => r.Outcome == RequestOutcome.Failed);
        records[0].Detail.Should().Contain("no reply after 3 attempts");
    }

    [Fact]
    public async Task RunAsync_ClientIgnoresCancellationForever_RecordsLostWithinTheHardLimit()
    {
        var options = Small with { Clients = 1, RequestsPerClient = 1, Window = 1 };
        var never = new TaskCompletionSource<Message>();

        var records = await RunAsync((_, _) => new FakeClient(_ => never.Task), options, new WorkloadProgress());

        records.Should().ContainSingle().Which.Outcome.Should().Be(RequestOutcome.Lost);
    }

    private static async Task<IReadOnlyList<RequestRecord>> RunAsync(ChaosClientFactory factory, WorkloadOptions options, WorkloadProgress progress) =>
        await WorkloadDriver.RunAsync(factory, "tcp://127.0.0.1:1", options, new ScenarioClock(), progress, "test", CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(30));

    private sealed class FakeClient(Func<Message, Task<Message>> answer) : IChaosClient
    {
        public string Description => "fake";

        public long Retries => 0;

        public Task<Message> RequestAsync(string service, Message body, CancellationToken cancellationToken) => answer(body);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
