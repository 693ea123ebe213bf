using Microsoft.Data.Sqlite;
using Reliability.Mdp.Titanic.Store;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Store;

/// <summary>The store contract on SQLite (a temporary file per test), and what is SQLite's own: WAL, FULL sync.</summary>
public sealed class SqliteTitanicStoreTests : TitanicStoreContract
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("titanic-store-").FullName;

    private string PathName => System.IO.Path.Combine(_directory, "titanic.db");

    /// <inheritdoc/>
    private protected override Task<ITitanicStore> OpenAsync(int maxRequests) => Task.FromResult<ITitanicStore>(SqliteTitanicStore.Open(PathName, maxRequests));

    /// <inheritdoc/>
    private protected override long Transactions(ITitanicStore store) => ((SqliteTitanicStore)store).Transactions;

    /// <inheritdoc/>
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Open_FileIsInWalModeWithFullSync()
    {
        await using var store = SqliteTitanicStore.Open(PathName, 10);
        await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout);

        using var connection = new SqliteConnection($"Data Source={PathName};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        command.ExecuteScalar().Should().Be("wal");
        File.Exists(PathName + "-wal").Should().BeTrue();
    }

    [Fact]
    public async Task Open_NotADatabase_Throws()
    {
        await File.WriteAllTextAsync(PathName, new string('x', 4096));

        var open = () => SqliteTitanicStore.Open(PathName, 10);

        open.Should().Throw<SqliteException>();
    }
}
