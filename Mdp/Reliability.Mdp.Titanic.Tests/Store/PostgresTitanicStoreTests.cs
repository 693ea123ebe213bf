using Npgsql;
using Reliability.Mdp.Titanic.Store;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Store;

/// <summary>The store contract on a real PostgreSQL server (an empty schema per test), and what is PostgreSQL's own.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresTitanicStoreTests(PostgresFixture fixture) : TitanicStoreContract
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private string? _connectionString;

    /// <inheritdoc/>
    private protected override async Task<ITitanicStore> OpenAsync(int maxRequests) =>
        await PostgresTitanicStore.OpenAsync(_connectionString ??= await fixture.NewSchemaAsync(), maxRequests);

    /// <inheritdoc/>
    private protected override long Transactions(ITitanicStore store) => ((PostgresTitanicStore)store).Transactions;

    [Fact]
    public async Task Open_TwoNodesAtOnce_BothCreateOrFindTheSchema()
    {
        string connectionString = await fixture.NewSchemaAsync();

        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresTitanicStore.OpenAsync(connectionString, 100))).WaitAsync(Timeout);

        string? id = await stores[0].AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout);
        (await stores[3].GetReplyAsync(id!).WaitAsync(Timeout)).State.Should().Be(ReplyState.Pending);
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task AddRequest_TwoNodesFillingTheStore_NeverHoldMoreThanTheMaximum()
    {
        string connectionString = await fixture.NewSchemaAsync();
        await using var a = await PostgresTitanicStore.OpenAsync(connectionString, 150, "a");
        await using var b = await PostgresTitanicStore.OpenAsync(connectionString, 150, "b");

        var ids = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => (i % 2 == 0 ? a : b).AddRequestAsync("echo", Message.FromStrings("x")))).WaitAsync(Timeout);

        ids.Count(id => id is not null).Should().Be(150);
        (await a.CountAsync().WaitAsync(Timeout)).Should().Be(150);
    }

    [Fact]
    public async Task Claim_RecordsTheNodeInTheLease()
    {
        string connectionString = await fixture.NewSchemaAsync();
        await using var store = await PostgresTitanicStore.OpenAsync(connectionString, 10, "node-7");
        string id = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        await store.ClaimAsync(10, now, now.AddSeconds(10)).WaitAsync(Timeout);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT lease_node, lease_until FROM titanic_request WHERE id = $1", connection) { Parameters = { new() { Value = id } } };
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();
        reader.GetString(0).Should().Be("node-7");
        reader.GetFieldValue<DateTimeOffset>(1).Should().Be(now.AddSeconds(10));
    }

    [Fact]
    public async Task Open_ServerNotListening_FailsFastWithAClearError()
    {
        int port = Reliability.Testing.Postgres.PostgresCluster.FreePort();

        var open = () => PostgresTitanicStore.OpenAsync($"Host=127.0.0.1;Port={port};Username=postgres", 10);

        (await open.Should().ThrowAsync<NpgsqlException>().WaitAsync(Timeout)).Which.Message.Should().Contain("127.0.0.1");
    }

    [Fact]
    public async Task Open_MalformedConnectionString_ThrowsArgumentException()
    {
        var open = () => PostgresTitanicStore.OpenAsync("Host=127.0.0.1;Frobnicate=1", 10);

        (await open.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("not a PostgreSQL connection string");
    }

    [Fact]
    public async Task ServerRestarts_FailedBatchFails_ThenTheStoreWorksAgain()
    {
        string connectionString = await fixture.NewSchemaAsync();
        await using var store = await PostgresTitanicStore.OpenAsync(connectionString, 10);
        await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout);

        // Kill every connection of this schema's store, as a server restart would.
        await using (var admin = new NpgsqlConnection(fixture.Cluster.ConnectionString()))
        {
            await admin.OpenAsync();
            // With a timeout, pg_terminate_backend waits until the backend is gone (PostgreSQL 14 and later).
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = 'postgres'", admin);
            await kill.ExecuteNonQueryAsync();
        }

        // The first call may meet a dead pooled connection and fail (never acknowledged); later ones reconnect.
        try
        {
            await store.AddRequestAsync("echo", Message.FromStrings("b")).WaitAsync(Timeout);
        }
        catch (NpgsqlException)
        {
        }

        (await store.AddRequestAsync("echo", Message.FromStrings("c")).WaitAsync(Timeout)).Should().NotBeNull();
    }
}
