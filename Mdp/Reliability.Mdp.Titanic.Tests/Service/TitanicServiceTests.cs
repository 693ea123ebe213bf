using System.Text;
using Reliability.Mdp.Titanic.Service;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Service;

/// <summary>End to end over loopback TCP: client → broker → Titanic (SQLite) → broker → worker, and back later.</summary>
public sealed class TitanicServiceTests
{
    private static readonly TimeSpan Wait = TitanicHarness.Wait;

    private static string Text(Message message) => string.Join("|", Enumerable.Range(0, message.Count).Select(message.GetString));

    /// <summary>With the default 10 s dispatch timeout: a request kept for lack of a worker is looked at again within about a second.</summary>
    [Fact]
    public async Task Submit_WorkerStartedAfterwards_EveryReplyCorrect()
    {
        await using var harness = new TitanicHarness();
        var ids = new List<(string Id, int N)>();
        for (int i = 0; i < 40; i++)
        {
            ids.Add((await harness.Client.SubmitAsync("echo", Message.FromStrings("req-" + i, "x")).WaitAsync(Wait), i));
        }

        (await harness.Client.TryGetReplyAsync(ids[0].Id).WaitAsync(Wait)).Should().BeNull("no echo worker runs yet");

        harness.StartEcho();
        using var timeout = new CancellationTokenSource(Wait);
        foreach (var (id, n) in ids)
        {
            var reply = await harness.Client.WaitForReplyAsync(id, timeout.Token);
            Text(reply).Should().Be($"echo:req-{n}|echo:x");
            await harness.Client.CloseAsync(id).WaitAsync(Wait);
        }

        (await harness.Store.CountAsync().WaitAsync(Wait)).Should().Be(0);
        var gone = () => harness.Client.TryGetReplyAsync(ids[0].Id).WaitAsync(Wait);
        (await gone.Should().ThrowAsync<TitanicException>()).Which.Status.Should().Be(Tsp.Unknown);
    }

    [Fact]
    public async Task Submit_WorkerDiesMidRequest_RetriedOnAnotherWorker()
    {
        await using var harness = new TitanicHarness(endpoint => new TitanicOptions { BrokerEndpoint = endpoint, DispatchTimeout = TimeSpan.FromSeconds(1), RequestWorkers = 2 });
        var taken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dying = harness.StartWorker("slow", async (body, ct) =>
        {
            taken.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return body;
        });

        string id = await harness.Client.SubmitAsync("slow", Message.FromStrings("once")).WaitAsync(Wait);
        await taken.Task.WaitAsync(Wait);
        await dying.DisposeAsync();
        harness.StartWorker("slow", (body, _) => ValueTask.FromResult(Message.FromStrings("done:" + body.GetString(0))));

        using var timeout = new CancellationTokenSource(Wait);
        Text(await harness.Client.WaitForReplyAsync(id, timeout.Token)).Should().Be("done:once");
    }

    [Fact]
    public async Task Submit_StoreFull_Answers500AndLosesNothing()
    {
        await using var harness = new TitanicHarness(endpoint => new TitanicOptions { BrokerEndpoint = endpoint, MaxRequests = 2, RequestWorkers = 2 });
        string first = await harness.Client.SubmitAsync("nobody", Message.FromStrings("a")).WaitAsync(Wait);
        await harness.Client.SubmitAsync("nobody", Message.FromStrings("b")).WaitAsync(Wait);

        var third = () => harness.Client.SubmitAsync("nobody", Message.FromStrings("c")).WaitAsync(Wait);

        var refused = (await third.Should().ThrowAsync<TitanicException>()).Which;
        refused.Status.Should().Be(Tsp.Error);
        refused.IsTransient.Should().BeTrue();
        (await harness.Client.TryGetReplyAsync(first).WaitAsync(Wait)).Should().BeNull();
    }

    [Fact]
    public async Task Restart_PendingRequestsSurviveAndComplete()
    {
        await using var harness = new TitanicHarness();
        string id = await harness.Client.SubmitAsync("later", Message.FromStrings("kept")).WaitAsync(Wait);

        await harness.RestartTitanicAsync();
        harness.StartEcho("later");

        using var timeout = new CancellationTokenSource(Wait);
        Text(await harness.Client.WaitForReplyAsync(id, timeout.Token)).Should().Be("echo:kept");
    }

    [Fact]
    public async Task MalformedBodies_Answer400()
    {
        await using var harness = new TitanicHarness();
        await using var client = new Reliability.Mdp.Client.MajordomoAsyncClient(new() { BrokerEndpoint = harness.Endpoint, Timeout = Wait });

        var noFrames = await client.RequestAsync(Tsp.RequestService, Message.FromStrings("echo")).WaitAsync(Wait);
        var badId = await client.RequestAsync(Tsp.ReplyService, Message.FromStrings("not-an-id")).WaitAsync(Wait);
        var badClose = await client.RequestAsync(Tsp.CloseService, new Message()).WaitAsync(Wait);

        Encoding.ASCII.GetString(noFrames.Body[0].Span).Should().Be("400");
        Encoding.ASCII.GetString(badId.Body[0].Span).Should().Be("400");
        Encoding.ASCII.GetString(badClose.Body[0].Span).Should().Be("400");
    }
}
