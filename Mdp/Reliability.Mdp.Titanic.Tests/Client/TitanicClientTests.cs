using Microsoft.Extensions.Time.Testing;
using Reliability.Mdp.Client;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Client;

/// <summary><see cref="TitanicClient"/> over a scripted Majordomo client: what goes on the wire, how each status is read.</summary>
public sealed class TitanicClientTests
{
    private const string Id = "0123456789ABCDEF0123456789ABCDEF";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Answers each request with the next scripted reply body (or throws it) and records what was sent.</summary>
    private sealed class ScriptedClient(IEnumerable<object> replies) : IMajordomoClient
    {
        private readonly Queue<object> _replies = new(replies);

        public List<(string Service, string[] Body)> Sent { get; } = [];

        public Task<MdpReply> RequestAsync(string service, Message body, CancellationToken cancellationToken = default)
        {
            Sent.Add((service, Enumerable.Range(0, body.Count).Select(body.GetString).ToArray()));
            return _replies.Dequeue() switch
            {
                Exception ex => Task.FromException<MdpReply>(ex),
                string[] frames => Task.FromResult(new MdpReply(service, Message.FromStrings(frames))),
                var other => throw new InvalidOperationException($"bad script entry {other}"),
            };
        }
    }

    [Fact]
    public async Task SubmitAsync_SendsServiceThenBody_ReturnsTheId()
    {
        var mdp = new ScriptedClient([new[] { "200", Id }]);

        string id = await new TitanicClient(mdp).SubmitAsync("echo", Message.FromStrings("a", "b")).WaitAsync(Wait);

        id.Should().Be(Id);
        mdp.Sent.Should().ContainSingle().Which.Should().BeEquivalentTo((Tsp.RequestService, new[] { "echo", "a", "b" }));
    }

    [Fact]
    public async Task SubmitAsync_Full_ThrowsTransient500()
    {
        var mdp = new ScriptedClient([new[] { "500" }]);

        var submit = () => new TitanicClient(mdp).SubmitAsync("echo", Message.FromStrings("a")).WaitAsync(Wait);

        var refused = (await submit.Should().ThrowAsync<TitanicException>()).Which;
        refused.Status.Should().Be(Tsp.Error);
        refused.IsTransient.Should().BeTrue();
    }

    [Fact]
    public async Task SubmitAsync_NoBodyFrames_IsRejectedBeforeSending()
    {
        var mdp = new ScriptedClient([]);

        var submit = () => new TitanicClient(mdp).SubmitAsync("echo", new Message());

        await submit.Should().ThrowAsync<ArgumentException>();
        mdp.Sent.Should().BeEmpty();
    }

    [Fact]
    public async Task TryGetReplyAsync_ReadsEachStatus()
    {
        var mdp = new ScriptedClient([new[] { "300" }, new[] { "200", "x", "y" }, new[] { "400" }]);
        var client = new TitanicClient(mdp);

        (await client.TryGetReplyAsync(Id).WaitAsync(Wait)).Should().BeNull();
        var reply = await client.TryGetReplyAsync(Id).WaitAsync(Wait);
        Enumerable.Range(0, reply!.Count).Select(reply.GetString).Should().Equal("x", "y");
        var unknown = () => client.TryGetReplyAsync(Id).WaitAsync(Wait);
        (await unknown.Should().ThrowAsync<TitanicException>()).Which.IsTransient.Should().BeFalse();
        mdp.Sent.Should().AllSatisfy(s => s.Should().BeEquivalentTo((Tsp.ReplyService, new[] { Id })));
    }

    [Fact]
    public async Task CloseAsync_SendsTheId()
    {
        var mdp = new ScriptedClient([new[] { "200" }]);

        await new TitanicClient(mdp).CloseAsync(Id).WaitAsync(Wait);

        mdp.Sent.Should().ContainSingle().Which.Should().BeEquivalentTo((Tsp.CloseService, new[] { Id }));
    }

    [Fact]
    public async Task Calls_NotAnId_AreRejectedBeforeSending()
    {
        var client = new TitanicClient(new ScriptedClient([]));

        await client.Invoking(c => c.TryGetReplyAsync("nope")).Should().ThrowAsync<ArgumentException>();
        await client.Invoking(c => c.CloseAsync("nope")).Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task WaitForReplyAsync_PollsThroughPendingAndOutages_WithDoublingWaits()
    {
        var time = new FakeTimeProvider();
        var mdp = new ScriptedClient([new[] { "300" }, new MdpRequestFailedException(Tsp.ReplyService, 1, "tcp://127.0.0.1:1", "timed out"), new[] { "500" }, new[] { "200", "done" }]);
        var client = new TitanicClient(mdp, new TitanicClientOptions { PollInterval = TimeSpan.FromMilliseconds(100), PollIntervalMax = TimeSpan.FromMilliseconds(300) }, time);

        var wait = client.WaitForReplyAsync(Id, CancellationToken.None);

        // After each of the first three polls the client waits at least 100, 200, then 300 ms (capped) of the fake clock.
        int poll = 1;
        foreach (int ms in new[] { 100, 200, 300 })
        {
            await WaitForSendsAsync(mdp, poll);
            var advanced = TimeSpan.Zero;

            // Bounded by the deadline and by 10 s of fake time.
            var deadline = DateTime.UtcNow + Wait;
            while (mdp.Sent.Count == poll && advanced < TimeSpan.FromSeconds(10) && DateTime.UtcNow < deadline)
            {
                time.Advance(TimeSpan.FromMilliseconds(1));
                advanced += TimeSpan.FromMilliseconds(1);
                await Task.Yield();
            }

            advanced.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(ms));
            poll++;
        }

        var reply = await wait.WaitAsync(Wait);
        reply.GetString(0).Should().Be("done");
        mdp.Sent.Should().HaveCount(4);
    }

    private static async Task WaitForSendsAsync(ScriptedClient mdp, int count)
    {
        var deadline = DateTime.UtcNow + Wait;

        // Bounded by the deadline: the poll loop runs on the thread pool between fake-clock steps.
        while (mdp.Sent.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }
    }
}
