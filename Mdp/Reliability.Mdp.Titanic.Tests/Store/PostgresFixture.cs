using Npgsql;
using Reliability.Testing.Postgres;

namespace Reliability.Mdp.Titanic.Tests.Store;

/// <summary>
/// One throwaway PostgreSQL cluster for every test of the <see cref="PostgresCollection"/> (starting one costs seconds);
/// each test gets an empty schema of its own in it (<see cref="NewSchemaAsync"/>).
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    /// <summary>The running cluster.</summary>
    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster is not started");

    /// <inheritdoc/>
    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync();

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Creates an empty schema and returns a connection string whose tables go there.</summary>
    public async Task<string> NewSchemaAsync()
    {
        string schema = "t_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(Cluster.ConnectionString()))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(Cluster.ConnectionString()) { SearchPath = schema }.ToString();
    }
}

/// <summary>The tests that share one <see cref="PostgresFixture"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
