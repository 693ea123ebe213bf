using Microsoft.Data.Sqlite;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Store;

internal sealed partial class SqliteTitanicStore
{
    // One row per request. lease_until_ms: a claimed request is not claimed again before (0: never claimed);
    // replied_ms: when the reply was stored, for its time to live. The partial indexes keep the dispatch and
    // expiry scans off the answered and the pending rows respectively.
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS titanic_request (
            id TEXT NOT NULL PRIMARY KEY,
            service TEXT NOT NULL,
            body BLOB NOT NULL,
            lease_until_ms INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            reply BLOB,
            replied_ms INTEGER);
        CREATE INDEX IF NOT EXISTS titanic_pending ON titanic_request (lease_until_ms) WHERE reply IS NULL;
        CREATE INDEX IF NOT EXISTS titanic_answered ON titanic_request (replied_ms) WHERE reply IS NOT NULL;
        """;

    /// <summary>The prepared statements, created once and reused by every batch.</summary>
    private sealed class Commands : IDisposable
    {
        private readonly SqliteCommand _insert;
        private readonly SqliteCommand _claim;
        private readonly SqliteCommand _setLease;
        private readonly SqliteCommand _setReply;
        private readonly SqliteCommand _lookup;
        private readonly SqliteCommand _delete;
        private readonly SqliteCommand _expire;

        public Commands(SqliteConnection connection)
        {
            _insert = Create(connection, "INSERT INTO titanic_request (id, service, body) VALUES ($id, $service, $body)", "$id", "$service", "$body");

            // Oldest first by rowid (insertion order); RETURNING gives the rows in no set order, so Claim sorts them.
            _claim = Create(
                connection,
                """
                UPDATE titanic_request SET lease_until_ms = $lease, attempts = attempts + 1
                WHERE rowid IN (SELECT rowid FROM titanic_request WHERE reply IS NULL AND lease_until_ms <= $now ORDER BY rowid LIMIT $max)
                RETURNING rowid, id, service, body, attempts
                """,
                "$lease",
                "$now",
                "$max");
            _setLease = Create(connection, "UPDATE titanic_request SET lease_until_ms = $lease WHERE id = $id AND attempts = $attempts AND reply IS NULL", "$lease", "$id", "$attempts");
            _setReply = Create(connection, "UPDATE titanic_request SET reply = $reply, replied_ms = $now WHERE id = $id AND reply IS NULL", "$reply", "$now", "$id");
            _lookup = Create(connection, "SELECT reply FROM titanic_request WHERE id = $id", "$id");
            _delete = Create(connection, "DELETE FROM titanic_request WHERE id = $id", "$id");
            _expire = Create(connection, "DELETE FROM titanic_request WHERE reply IS NOT NULL AND replied_ms < $cutoff", "$cutoff");
        }

        /// <summary>Stored requests skipped by claims because their body could not be decoded.</summary>
        public long Damaged { get; private set; }

        public void Use(SqliteTransaction transaction)
        {
            _insert.Transaction = transaction;
            _claim.Transaction = transaction;
            _setLease.Transaction = transaction;
            _setReply.Transaction = transaction;
            _lookup.Transaction = transaction;
            _delete.Transaction = transaction;
            _expire.Transaction = transaction;
        }

        public void Insert(string id, string service, byte[] body)
        {
            _insert.Parameters[0].Value = id;
            _insert.Parameters[1].Value = service;
            _insert.Parameters[2].Value = body;
            _insert.ExecuteNonQuery();
        }

        public IReadOnlyList<StoredRequest> Claim(int max, long nowMs, long leaseUntilMs)
        {
            _claim.Parameters[0].Value = leaseUntilMs;
            _claim.Parameters[1].Value = nowMs;
            _claim.Parameters[2].Value = max;
            var claimed = new List<(long RowId, StoredRequest Request)>();
            using (var reader = _claim.ExecuteReader())
            {
                while (reader.Read())
                {
                    Message body;
                    try
                    {
                        body = FrameBlob.Decode((byte[])reader.GetValue(3));
                    }
                    catch (InvalidDataException)
                    {
                        // A damaged row must not stall dispatch of the others: skip it (it stays pending,
                        // and titanic.reply for it keeps answering 300) and count it.
                        Damaged++;
                        continue;
                    }

                    claimed.Add((reader.GetInt64(0), new StoredRequest(reader.GetString(1), reader.GetString(2), body, reader.GetInt32(4))));
                }
            }

            claimed.Sort((a, b) => a.RowId.CompareTo(b.RowId));
            return claimed.ConvertAll(c => c.Request);
        }

        public void SetLease(string id, int attempts, long leaseUntilMs)
        {
            _setLease.Parameters[0].Value = leaseUntilMs;
            _setLease.Parameters[1].Value = id;
            _setLease.Parameters[2].Value = attempts;
            _setLease.ExecuteNonQuery();
        }

        public bool SetReply(string id, byte[] reply, long nowMs)
        {
            _setReply.Parameters[0].Value = reply;
            _setReply.Parameters[1].Value = nowMs;
            _setReply.Parameters[2].Value = id;
            return _setReply.ExecuteNonQuery() == 1;
        }

        public ReplyLookup Lookup(string id)
        {
            _lookup.Parameters[0].Value = id;
            using var reader = _lookup.ExecuteReader();
            if (!reader.Read())
            {
                return new ReplyLookup(ReplyState.Unknown, null);
            }

            return reader.IsDBNull(0)
                ? new ReplyLookup(ReplyState.Pending, null)
                : new ReplyLookup(ReplyState.Answered, FrameBlob.Decode((byte[])reader.GetValue(0)));
        }

        public int Delete(string id)
        {
            _delete.Parameters[0].Value = id;
            return _delete.ExecuteNonQuery();
        }

        public int Expire(long cutoffMs)
        {
            _expire.Parameters[0].Value = cutoffMs;
            return _expire.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _insert.Dispose();
            _claim.Dispose();
            _setLease.Dispose();
            _setReply.Dispose();
            _lookup.Dispose();
            _delete.Dispose();
            _expire.Dispose();
        }

        private static SqliteCommand Create(SqliteConnection connection, string sql, params string[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (string name in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            return command;
        }
    }
}
