using System.Collections.Concurrent;
using Reliability.Mdp.Titanic.Store;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Store;

/// <summary>
/// Two Titanic nodes sharing one PostgreSQL database dispatch the same backlog at once while a third node has died
/// holding leases: every request is run exactly once, the dead node's only after their leases ran out.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TwoNodeDispatchTests(PostgresFixture fixture)
{
    private const int Requests = 400;
    private const int Abandoned = 40;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TwoLiveNodes_OneDeadMidDispatch_EveryRequestRunsExactlyOnce()
    {
        string connectionString = await fixture.NewSchemaAsync();
        await using var a = await PostgresTitanicStore.OpenAsync(connectionString, 10_000, "a");
        await using var b = await PostgresTitanicStore.OpenAsync(connectionString, 10_000, "b");
        var ids = await Task.WhenAll(Enumerable.Range(0, Requests).Select(i => a.AddRequestAsync("echo", Message.FromStrings("req" + i)))).WaitAsync(Timeout);

        // The dead node claims the oldest requests and is gone before it answers any: its leases are never renewed.
        IReadOnlyList<StoredRequest> dead;
        await using (var dying = await PostgresTitanicStore.OpenAsync(connectionString, 10_000, "dead"))
        {
            dead = await dying.ClaimAsync(Abandoned, T0, T0 + Lease).WaitAsync(Timeout);
        }

        var runs = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var stored = new ConcurrentBag<string>();

        // While the dead node's leases run, the live nodes share everything else between them.
        var now = T0.AddSeconds(1);
        await Task.WhenAll(DrainAsync(a, now, runs, stored), DrainAsync(b, now, runs, stored)).WaitAsync(Timeout);
        runs.Keys.Should().NotIntersectWith(dead.Select(d => d.Id));
        runs.Should().HaveCount(Requests - Abandoned);

        // The leases ran out: the live nodes take the abandoned requests over.
        now = T0 + Lease;
        await Task.WhenAll(DrainAsync(a, now, runs, stored), DrainAsync(b, now, runs, stored)).WaitAsync(Timeout);

        runs.Should().HaveCount(Requests).And.OnlyContain(r => r.Value == 1);
        stored.Should().HaveCount(Requests).And.OnlyHaveUniqueItems();
        foreach (string id in ids.Select(id => id!))
        {
            var lookup = await b.GetReplyAsync(id).WaitAsync(Timeout);
            lookup.State.Should().Be(ReplyState.Answered);
            lookup.Reply!.GetString(0).Should().Be("reply:" + id);
        }
    }

    /// <summary>One node's dispatch: claims a few at a time and answers each, until nothing is left to claim.</summary>
    private static async Task DrainAsync(PostgresTitanicStore node, DateTimeOffset now, ConcurrentDictionary<string, int> runs, ConcurrentBag<string> stored)
    {
        await Task.Yield();
        for (int round = 0; round < Requests; round++)
        {
            var claimed = await node.ClaimAsync(8, now, now + Lease);
            if (claimed.Count == 0)
            {
                return;
            }

            foreach (var request in claimed)
            {
                runs.AddOrUpdate(request.Id, 1, (_, n) => n + 1);
                if (await node.AddReplyAsync(request.Id, Message.FromStrings("reply:" + request.Id), now))
                {
                    stored.Add(request.Id);
                }
            }
        }
    }
}
