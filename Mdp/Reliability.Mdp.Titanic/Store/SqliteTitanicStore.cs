using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Store;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a change is on disk when its
/// transaction commits (docs/patterns/titanic.md, "Durability").
/// </summary>
/// <remarks>
/// Group commit: every call becomes an operation on one queue, and a single loop runs whatever is queued in one
/// transaction, then completes all those calls after its commit. Requests arriving together thus share one fsync
/// instead of paying one each, and nobody is acknowledged before their write is durable. The loop also owns the
/// connection, so SQLite never sees two threads.
/// </remarks>
internal sealed partial class SqliteTitanicStore : ITitanicStore
{
    /// <summary>Most operations in one transaction, so that one slow batch cannot grow without bound.</summary>
    internal const int MaxBatch = 1024;

    private readonly SqliteConnection _connection;
    private readonly Channel<Operation> _queue = Channel.CreateUnbounded<Operation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private readonly Commands _commands;
    private int _count;
    private long _transactions;
    private long _damaged;

    private SqliteTitanicStore(SqliteConnection connection, int maxRequests)
    {
        _connection = connection;
        MaxRequests = maxRequests;
        _commands = new Commands(connection);
        _count = Convert.ToInt32(Scalar("SELECT COUNT(*) FROM titanic_request"), System.Globalization.CultureInfo.InvariantCulture);
        _loop = Task.Run(RunAsync);
    }

    /// <inheritdoc/>
    public int MaxRequests { get; }

    /// <summary>Transactions committed so far (the group-commit tests compare it with the number of calls).</summary>
    internal long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Claims that skipped a stored request whose body could not be decoded (a damaged file).</summary>
    internal long DamagedRequests => Volatile.Read(ref _damaged);

    /// <summary>Opens (creating if needed) the store in the file <paramref name="path"/>.</summary>
    /// <exception cref="SqliteException">The file cannot be opened, is not a database, or refuses WAL mode.</exception>
    public static SqliteTitanicStore Open(string path, int maxRequests)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRequests, 1);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            string mode = Execute(connection, "PRAGMA journal_mode=WAL")?.ToString() ?? string.Empty;
            if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite store '{path}' refused WAL mode (journal mode is '{mode}').");
            }

            // FULL: in WAL mode, NORMAL would let the last transactions vanish on power loss; acknowledged means on disk.
            Execute(connection, "PRAGMA synchronous=FULL");
            Execute(connection, "PRAGMA busy_timeout=5000");
            Execute(connection, Schema);
            return new SqliteTitanicStore(connection, maxRequests);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public Task<string?> AddRequestAsync(string service, Message request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentNullException.ThrowIfNull(request);
        byte[] body = FrameBlob.Encode(request);
        return Enqueue<string?>(
            () =>
            {
                if (_count >= MaxRequests)
                {
                    return null;
                }

                string id = Tsp.NewId();
                _commands.Insert(id, service, body);
                _count++;
                return id;
            },
            cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredRequest>> ClaimAsync(int max, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        return Enqueue(() => _commands.Claim(max, now.ToUnixTimeMilliseconds(), leaseUntil.ToUnixTimeMilliseconds()), cancellationToken);
    }

    /// <inheritdoc/>
    public Task RetryAtAsync(StoredRequest claim, DateTimeOffset retryAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return Enqueue(
            () =>
            {
                _commands.SetLease(claim.Id, claim.Attempts, retryAt.ToUnixTimeMilliseconds());
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> AddReplyAsync(string id, Message reply, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(reply);
        byte[] blob = FrameBlob.Encode(reply);
        return Enqueue(() => _commands.SetReply(id, blob, now.ToUnixTimeMilliseconds()), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<ReplyLookup> GetReplyAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return Enqueue(() => _commands.Lookup(id), cancellationToken);
    }

    /// <inheritdoc/>
    public Task CloseAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return Enqueue(
            () =>
            {
                _count -= _commands.Delete(id);
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> ExpireAsync(DateTimeOffset repliedBefore, CancellationToken cancellationToken = default) =>
        Enqueue(
            () =>
            {
                int deleted = _commands.Expire(repliedBefore.ToUnixTimeMilliseconds());
                _count -= deleted;
                return deleted;
            },
            cancellationToken);

    /// <inheritdoc/>
    public Task<int> CountAsync(CancellationToken cancellationToken = default) => Enqueue(() => _count, cancellationToken);

    /// <summary>Runs what is queued (the last batch commits), then closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _commands.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private Task<T> Enqueue<T>(Func<T> run, CancellationToken cancellationToken)
    {
        var operation = new Operation<T>(run);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(operation), this);

        // A queued write happens whatever the caller does next; cancelling only stops the caller's wait.
        return operation.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var batch = new List<Operation>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }

            RunBatch(batch);
            batch.Clear();
        }
    }

    private void RunBatch(List<Operation> batch)
    {
        int countBefore = _count;
        try
        {
            using (var transaction = _connection.BeginTransaction())
            {
                _commands.Use(transaction);
                foreach (var operation in batch)
                {
                    operation.Run();
                }

                transaction.Commit();
            }

            Interlocked.Increment(ref _transactions);
            Volatile.Write(ref _damaged, _commands.Damaged);
        }
        catch (SqliteException ex)
        {
            // The transaction rolled back: nothing of this batch is durable, so every call in it fails.
            _count = countBefore;
            foreach (var operation in batch)
            {
                operation.Fail(ex);
            }

            return;
        }

        foreach (var operation in batch)
        {
            operation.Complete();
        }
    }

    private object? Scalar(string sql) => Execute(_connection, sql);

    private static object? Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
