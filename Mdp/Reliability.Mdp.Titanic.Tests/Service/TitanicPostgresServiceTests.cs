using System.Collections.Concurrent;
using Npgsql;
using Reliability.Mdp.Titanic.Store;
using Reliability.Mdp.Titanic.Tests.Store;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Service;

/// <summary>End to end with two Titanic nodes sharing one real PostgreSQL database behind one broker.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TitanicPostgresServiceTests(PostgresFixture fixture)
{
    private const int Requests = 200;
    private static readonly TimeSpan Wait = TitanicHarness.Wait;

    [Fact]
    public async Task TwoNodes_OneDatabase_EveryRequestRunsOnceAndGetsItsReply()
    {
        string connectionString = await fixture.NewSchemaAsync();
        int nodes = 0;
        await using var harness = new TitanicHarness(
            openStore: max => PostgresTitanicStore.OpenAsync(connectionString, max, "node-" + Interlocked.Increment(ref nodes)).GetAwaiter().GetResult());
        harness.AddTitanicNode();
        var runs = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < 2; i++)
        {
            harness.StartWorker("echo", (body, _) =>
            {
                runs.AddOrUpdate(body.GetString(0), 1, (_, n) => n + 1);
                return ValueTask.FromResult(Message.FromStrings("echo:" + body.GetString(0)));
            });
        }

        var ids = new List<string>();
        for (int i = 0; i < Requests; i++)
        {
            ids.Add(await harness.Client.SubmitAsync("echo", Message.FromStrings("req-" + i)).WaitAsync(Wait));
        }

        using var timeout = new CancellationTokenSource(Wait);
        for (int i = 0; i < Requests; i++)
        {
            (await harness.Client.WaitForReplyAsync(ids[i], timeout.Token)).GetString(0).Should().Be("echo:req-" + i);
        }

        runs.Should().HaveCount(Requests).And.OnlyContain(r => r.Value == 1, "two nodes never send the same request while its lease runs");
        (await DispatchingNodesAsync(connectionString)).Should().Be(2, "both nodes claim from the shared backlog");
        foreach (string id in ids)
        {
            await harness.Client.CloseAsync(id).WaitAsync(Wait);
        }

        (await harness.Store.CountAsync().WaitAsync(Wait)).Should().Be(0);
    }

    private static async Task<long> DispatchingNodesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(DISTINCT lease_node) FROM titanic_request", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
