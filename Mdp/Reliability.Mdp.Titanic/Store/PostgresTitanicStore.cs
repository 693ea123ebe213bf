using System.Threading.Channels;
using Npgsql;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Store;

/// <summary>
/// The store for several Titanic nodes on one PostgreSQL database (docs/patterns/titanic.md, "The PostgreSQL store").
/// A change is durable when its transaction commits (the server's own <c>synchronous_commit</c>, on by default).
/// </summary>
/// <remarks>
/// <para>Group commit, as in <see cref="SqliteTitanicStore"/>: every call is one statement on a queue, and a single loop
/// sends whatever is queued as one batch (one round trip) inside one transaction, then completes all those calls after
/// its commit.</para>
/// <para>Several nodes: a claim takes rows with <c>FOR UPDATE SKIP LOCKED</c>, so two nodes claiming at once get
/// different requests, and leases each for a while, naming the node (<see cref="NodeId"/>); a node that dies leaves its
/// leases to run out, and then any node claims those requests again. A lease is moved only by the claim that holds it
/// (<see cref="RetryAtAsync"/>). The request count lives in a one-row table that every adding or deleting transaction
/// locks first, so <see cref="MaxRequests"/> holds across nodes, and the lock order is the same everywhere.</para>
/// </remarks>
internal sealed class PostgresTitanicStore : ITitanicStore
{
    /// <summary>Most operations in one transaction.</summary>
    internal const int MaxBatch = 1024;

    /// <summary>Connect timeout when the connection string gives none, so a server that is away fails fast.</summary>
    internal const int DefaultConnectTimeoutSeconds = 5;

    /// <summary>How often a batch that two nodes deadlocked on is run again before its calls fail.</summary>
    private const int DeadlockRetries = 3;

    /// <summary>Serializes schema creation when several nodes start at once (any constant, the same in every node).</summary>
    private const long SchemaLockKey = 0x5469_7461_6E69_63;

    // seq: insertion order for claims; lease_until/lease_node: the claim that holds the request (-infinity: none yet);
    // replied: when the reply was stored, for its time to live. The partial indexes keep the dispatch and expiry scans
    // off the answered and the pending rows respectively.
    private const string Schema = """
        SELECT pg_advisory_xact_lock(@lock);
        CREATE TABLE IF NOT EXISTS titanic_request (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id text PRIMARY KEY,
            service text NOT NULL,
            body bytea NOT NULL,
            lease_until timestamptz NOT NULL DEFAULT '-infinity',
            lease_node text,
            attempts integer NOT NULL DEFAULT 0,
            reply bytea,
            replied timestamptz);
        CREATE INDEX IF NOT EXISTS titanic_pending ON titanic_request (seq) WHERE reply IS NULL;
        CREATE INDEX IF NOT EXISTS titanic_answered ON titanic_request (replied) WHERE reply IS NOT NULL;
        CREATE TABLE IF NOT EXISTS titanic_count (
            single boolean PRIMARY KEY DEFAULT true CHECK (single),
            requests bigint NOT NULL);
        INSERT INTO titanic_count (requests) SELECT count(*) FROM titanic_request ON CONFLICT DO NOTHING;
        """;

    private const string LockCount = "SELECT requests FROM titanic_count FOR UPDATE";

    // All the batch's new requests in one statement: as many as there is room for, in queue order, and the count
    // moves by as many; the answer is that number.
    private const string Insert = """
        WITH room AS (SELECT LEAST(cardinality($1::text[]), GREATEST($4 - requests, 0)) AS granted FROM titanic_count),
             added AS (INSERT INTO titanic_request (id, service, body)
                       SELECT u.id, u.service, u.body FROM unnest($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY AS u(id, service, body, k), room
                       WHERE u.k <= room.granted ORDER BY u.k),
             counted AS (UPDATE titanic_count SET requests = requests + (SELECT granted FROM room))
        SELECT granted FROM room
        """;

    // Oldest first by seq; RETURNING gives the rows in no set order, so the claim sorts them.
    private const string Claim = """
        UPDATE titanic_request r SET lease_until = $1, lease_node = $2, attempts = r.attempts + 1
        FROM (SELECT id FROM titanic_request WHERE reply IS NULL AND lease_until <= $3 ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED) c
        WHERE r.id = c.id
        RETURNING r.seq, r.id, r.service, r.body, r.attempts
        """;

    private const string SetLease = "UPDATE titanic_request SET lease_until = $1 WHERE id = $2 AND attempts = $3 AND lease_node = $4 AND reply IS NULL RETURNING 1";

    private const string SetReply = "UPDATE titanic_request SET reply = $1, replied = $2 WHERE id = $3 AND reply IS NULL RETURNING 1";

    private const string Lookup = "SELECT reply FROM titanic_request WHERE id = $1";

    private const string Delete = """
        WITH gone AS (DELETE FROM titanic_request WHERE id = $1 RETURNING 1)
        UPDATE titanic_count SET requests = requests - (SELECT count(*) FROM gone) RETURNING 1
        """;

    private const string Expire = """
        WITH gone AS (DELETE FROM titanic_request WHERE reply IS NOT NULL AND replied < $1 RETURNING 1),
             n AS (SELECT count(*) AS deleted FROM gone)
        UPDATE titanic_count SET requests = requests - n.deleted FROM n RETURNING n.deleted
        """;

    private const string Count = "SELECT requests FROM titanic_count";

    private readonly NpgsqlDataSource _source;
    private readonly Channel<Queued> _queue = Channel.CreateUnbounded<Queued>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private NpgsqlDataReader? _reader;
    private long _granted;
    private long _transactions;
    private long _damaged;

    private PostgresTitanicStore(NpgsqlDataSource source, int maxRequests, string nodeId)
    {
        _source = source;
        MaxRequests = maxRequests;
        NodeId = nodeId;
        _loop = Task.Run(RunAsync);
    }

    /// <inheritdoc/>
    public int MaxRequests { get; }

    /// <summary>The name this node writes into the leases it takes.</summary>
    public string NodeId { get; }

    /// <summary>Transactions committed so far (the group-commit tests compare it with the number of calls).</summary>
    internal long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Claims that skipped a stored request whose body could not be decoded (a damaged row).</summary>
    internal long DamagedRequests => Interlocked.Read(ref _damaged);

    /// <summary>
    /// Connects to the database of <paramref name="connectionString"/> and creates the tables when they are missing.
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string; without a <c>Timeout</c>, connecting gives up after
    /// <see cref="DefaultConnectTimeoutSeconds"/> seconds.</param>
    /// <param name="maxRequests">Most requests held at once, by all nodes together.</param>
    /// <param name="nodeId">This node's name in the leases (default: host name, process id and a random suffix).</param>
    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    /// <exception cref="NpgsqlException">The server cannot be reached, refuses the login, or the schema cannot be created.</exception>
    public static async Task<PostgresTitanicStore> OpenAsync(string connectionString, int maxRequests, string? nodeId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRequests, 1);
        NpgsqlDataSourceBuilder builder;
        try
        {
            builder = new NpgsqlDataSourceBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"not a PostgreSQL connection string: {ex.Message}", nameof(connectionString), ex);
        }

        if (!builder.ConnectionStringBuilder.ContainsKey("Timeout"))
        {
            builder.ConnectionStringBuilder.Timeout = DefaultConnectTimeoutSeconds;
        }

        // The same few statements run over and over: let every pooled connection keep them prepared. The store sets
        // no session state, so a connection back in the pool needs no reset round trip.
        if (!builder.ConnectionStringBuilder.ContainsKey("Max Auto Prepare"))
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 16;
        }

        builder.ConnectionStringBuilder.NoResetOnClose = true;

        var source = builder.Build();
        try
        {
            await using (var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                await using (var command = new NpgsqlCommand(Schema, connection, transaction))
                {
                    command.Parameters.AddWithValue("lock", SchemaLockKey);
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            return new PostgresTitanicStore(source, maxRequests, nodeId ?? DefaultNodeId());
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Host name, process id and 8 random hex digits: unique even for two processes in one container image.</summary>
    private static string DefaultNodeId() => $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>The connection string's server and database with no password, for messages.</summary>
    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    public static string Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $"postgres:Host={builder.Host};Port={builder.Port};Database={builder.Database ?? builder.Username}";
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"not a PostgreSQL connection string: {ex.Message}", nameof(connectionString), ex);
        }
    }

    /// <inheritdoc/>
    public Task<string?> AddRequestAsync(string service, Message request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentNullException.ThrowIfNull(request);
        var added = new NewRequest(Tsp.NewId(), service, FrameBlob.Encode(request));

        // The batch's one insert says how many of its new requests fit; they are taken in queue order.
        var operation = new Operation<string?>(() => _granted-- > 0 ? added.Id : null);
        return Enqueue(new Queued(null, added, operation), operation, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredRequest>> ClaimAsync(int max, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        return Enqueue(Command(Claim, leaseUntil.ToUniversalTime(), NodeId, now.ToUniversalTime(), max), locksCount: false, ReadClaimed, cancellationToken);
    }

    /// <inheritdoc/>
    public Task RetryAtAsync(StoredRequest claim, DateTimeOffset retryAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return Enqueue(Command(SetLease, retryAt.ToUniversalTime(), claim.Id, claim.Attempts, NodeId), locksCount: false, reader => reader.Read(), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> AddReplyAsync(string id, Message reply, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(reply);
        return Enqueue(Command(SetReply, FrameBlob.Encode(reply), now.ToUniversalTime(), id), locksCount: false, reader => reader.Read(), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<ReplyLookup> GetReplyAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return Enqueue(
            Command(Lookup, id),
            locksCount: false,
            reader =>
            {
                if (!reader.Read())
                {
                    return new ReplyLookup(ReplyState.Unknown, null);
                }

                return reader.IsDBNull(0)
                    ? new ReplyLookup(ReplyState.Pending, null)
                    : new ReplyLookup(ReplyState.Answered, FrameBlob.Decode(reader.GetFieldValue<byte[]>(0)));
            },
            cancellationToken);
    }

    /// <inheritdoc/>
    public Task CloseAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return Enqueue(Command(Delete, id), locksCount: true, reader => reader.Read(), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> ExpireAsync(DateTimeOffset repliedBefore, CancellationToken cancellationToken = default) =>
        Enqueue(Command(Expire, repliedBefore.ToUniversalTime()), locksCount: true, reader => reader.Read() ? (int)reader.GetInt64(0) : 0, cancellationToken);

    /// <inheritdoc/>
    public Task<int> CountAsync(CancellationToken cancellationToken = default) =>
        Enqueue(Command(Count), locksCount: false, reader => reader.Read() ? (int)reader.GetInt64(0) : 0, cancellationToken);

    /// <summary>Runs what is queued (the last batch commits), then closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await _source.DisposeAsync().ConfigureAwait(false);
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (object value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private Task<T> Enqueue<T>(NpgsqlBatchCommand command, bool locksCount, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var operation = new Operation<T>(() => read(_reader!));
        return Enqueue(new Queued(command, null, operation, locksCount), operation, cancellationToken);
    }

    private Task<T> Enqueue<T>(Queued queued, Operation<T> operation, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(queued), this);

        // A queued write happens whatever the caller does next; cancelling only stops the caller's wait.
        return operation.Task.WaitAsync(cancellationToken);
    }

    private IReadOnlyList<StoredRequest> ReadClaimed(NpgsqlDataReader reader)
    {
        var claimed = new List<(long Seq, StoredRequest Request)>();
        while (reader.Read())
        {
            Message body;
            try
            {
                body = FrameBlob.Decode(reader.GetFieldValue<byte[]>(3));
            }
            catch (InvalidDataException)
            {
                // A damaged row must not stall dispatch of the others: skip it (it stays pending) and count it.
                Interlocked.Increment(ref _damaged);
                continue;
            }

            claimed.Add((reader.GetInt64(0), new StoredRequest(reader.GetString(1), reader.GetString(2), body, reader.GetInt32(4))));
        }

        claimed.Sort((a, b) => a.Seq.CompareTo(b.Seq));
        return claimed.ConvertAll(c => c.Request);
    }

    private async Task RunAsync()
    {
        var batch = new List<Queued>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var queued))
            {
                batch.Add(queued);
            }

            RunBatch(batch);
            batch.Clear();
        }
    }

    private void RunBatch(List<Queued> batch)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                RunTransaction(batch);
                break;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DeadlockDetected && attempt <= DeadlockRetries)
            {
                // Two nodes locked the same rows in opposite orders and the server rolled this one back: nothing of it
                // is durable, so running it again whole is safe.
            }
            catch (Exception ex)
            {
                // Rolled back, or the connection broke (the commit's fate is then unknown, so never run it again):
                // every call in it fails, and none of them was acknowledged. The loop goes on with a new connection.
                foreach (var queued in batch)
                {
                    queued.Operation.Fail(ex);
                }

                return;
            }
        }

        Interlocked.Increment(ref _transactions);
        foreach (var queued in batch)
        {
            queued.Operation.Complete();
        }
    }

    private void RunTransaction(List<Queued> batch)
    {
        using var connection = _source.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var commands = new NpgsqlBatch(connection, transaction))
        {
            // The count row first, before any request row: every node takes its locks in this order.
            var added = batch.Where(q => q.Added is not null).Select(q => q.Added!).ToList();
            bool locksCount = added.Count > 0 || batch.Exists(q => q.LocksCount);
            if (locksCount)
            {
                commands.BatchCommands.Add(new NpgsqlBatchCommand(LockCount));
            }

            if (added.Count > 0)
            {
                commands.BatchCommands.Add(Command(Insert, added.ConvertAll(a => a.Id).ToArray(), added.ConvertAll(a => a.Service).ToArray(), added.ConvertAll(a => a.Body).ToArray(), MaxRequests));
            }

            foreach (var queued in batch.Where(q => q.Command is not null))
            {
                commands.BatchCommands.Add(queued.Command!);
            }

            using var reader = commands.ExecuteReader();
            _reader = reader;
            try
            {
                if (locksCount)
                {
                    reader.NextResult();
                }

                if (added.Count > 0)
                {
                    _granted = reader.Read() ? reader.GetInt64(0) : 0;
                    reader.NextResult();
                    foreach (var queued in batch.Where(q => q.Added is not null))
                    {
                        queued.Operation.Run();
                    }
                }

                foreach (var queued in batch.Where(q => q.Command is not null))
                {
                    queued.Operation.Run();
                    reader.NextResult();
                }
            }
            finally
            {
                _reader = null;
            }
        }

        transaction.Commit();
    }

    /// <summary>
    /// A call waiting for its batch and its caller: a statement of its own (which changes the count when
    /// <paramref name="LocksCount"/>), or a new request for the batch's one insert.
    /// </summary>
    private sealed record Queued(NpgsqlBatchCommand? Command, NewRequest? Added, Operation Operation, bool LocksCount = false);

    /// <summary>A request to store, its id chosen already.</summary>
    private sealed record NewRequest(string Id, string Service, byte[] Body);
}
