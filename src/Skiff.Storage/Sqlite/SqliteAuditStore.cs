using System.Text;
using Microsoft.Data.Sqlite;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// The audit log in the <c>audit_log</c> table. Appends run on the store's single writer, so links are made one
/// after the other in seq order, and each is computed inside the transaction that inserts it.
/// </summary>
internal sealed class SqliteAuditStore(SqliteTaskStore store) : IAuditStore
{
    private const string Columns = "seq, at, user_id, key_id, action, target, outcome, source, prev_hash, hash";

    /// <summary>How many rows verification reads between looks at its cancellation token.</summary>
    private const int CancellationCheckEvery = 4096;

    public Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) =>
        entries.Count == 0
            ? Task.FromResult<IReadOnlyList<AuditRecord>>([])
            : store.WriteAsync<IReadOnlyList<AuditRecord>>(s => Append(s, entries), cancellationToken);

    private static List<AuditRecord> Append(SqliteSession s, IReadOnlyList<AuditEntry> entries)
    {
        // The head of the chain is read inside this transaction rather than kept in memory: the group-commit
        // writer rolls a whole batch back when one unit in it fails and then reruns each unit alone, and a head
        // cached from the rolled-back run would link the rerun to a record that no longer exists. Reading the
        // last row by primary key is one b-tree descent on pages the previous append left in cache.
        long seq = 0;
        var prevHash = AuditChain.Genesis.ToArray();
        using (var reader = s.Command("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").ExecuteReader())
        {
            if (reader.Read())
            {
                seq = reader.GetInt64(0);
                prevHash = reader.GetFieldValue<byte[]>(1);
            }
        }
        var insert = s.Command(
            "INSERT INTO audit_log(seq, at, user_id, key_id, action, target, outcome, source, prev_hash, hash) " +
            "VALUES ($seq, $at, $u, $k, $a, $t, $o, $src, $prev, $hash)");
        var records = new List<AuditRecord>(entries.Count);
        foreach (var entry in entries)
        {
            seq++;
            var at = entry.At.ToUnixMs();
            var hash = AuditChain.ComputeHash(prevHash, seq, at, entry.UserId, entry.KeyId, entry.Action, entry.Target, entry.Outcome, entry.Source);
            insert.Parameters.Clear();
            insert.With("$seq", seq).With("$at", at).With("$u", entry.UserId).With("$k", entry.KeyId).With("$a", entry.Action)
                .With("$t", entry.Target).With("$o", entry.Outcome).With("$src", entry.Source).With("$prev", prevHash).With("$hash", hash)
                .ExecuteNonQuery();
            records.Add(new AuditRecord(seq, SqliteCommandExtensions.FromUnixMs(at), entry.UserId, entry.KeyId, entry.Action, entry.Target,
                entry.Outcome, entry.Source, prevHash, hash));
            prevHash = hash;
        }
        return records;
    }

    public Task<AuditPage> ListAsync(AuditQuery query, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read(s =>
        {
            var command = s.Command(BuildListSql(query));
            if (query.UserId is not null)
            {
                command.With("$user", query.UserId);
            }
            if (query.Action is not null)
            {
                command.With("$action", query.Action);
            }
            if (query.Since is { } since)
            {
                command.With("$since", since.ToUnixMs());
            }
            if (query.Until is { } until)
            {
                command.With("$until", until.ToUnixMs());
            }
            if (query.Cursor is { } cursor)
            {
                command.With("$cursor", cursor);
            }
            command.With("$limit", query.Limit + 1);
            var items = new List<AuditRecord>(query.Limit + 1);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    items.Add(Map(reader));
                }
            }
            if (items.Count <= query.Limit)
            {
                return new AuditPage(items, null);
            }
            items.RemoveAt(query.Limit);
            return new AuditPage(items, items[^1].Seq);
        }));

    private static string BuildListSql(AuditQuery query)
    {
        var where = new List<string>();
        if (query.UserId is not null)
        {
            where.Add("user_id = $user");
        }
        if (query.Action is not null)
        {
            where.Add("action = $action");
        }
        if (query.Since is not null)
        {
            where.Add("at >= $since");
        }
        if (query.Until is not null)
        {
            where.Add("at < $until");
        }
        if (query.Cursor is not null)
        {
            where.Add("seq < $cursor");
        }
        var filter = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        return $"SELECT {Columns} FROM audit_log {filter} ORDER BY seq DESC LIMIT $limit";
    }

    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken) =>
        // A walk over the whole log takes a while on a large one: off the caller's thread, on a reader session
        // that sees one consistent snapshot (a single statement) while appends go on.
        Task.Run(() => store.Read(s => Verify(s, cancellationToken)), cancellationToken);

    private static AuditVerification Verify(SqliteSession s, CancellationToken cancellationToken)
    {
        long records = 0;
        long previousSeq = 0;
        long? firstBroken = null;
        var previousHash = AuditChain.Genesis.ToArray();
        using var reader = s.Command($"SELECT {Columns} FROM audit_log ORDER BY seq").ExecuteReader();
        while (reader.Read())
        {
            records++;
            if (records % CancellationCheckEvery == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
            // Raw column values, not a mapped record: a tampered row may hold values no record could (a time out
            // of range, text in a number column), and that must read as a broken link, not as an exception.
            var seq = reader.GetInt64(0);
            var prevHash = Bytes(reader, 8);
            var hash = Bytes(reader, 9);
            if (firstBroken is null && !LinkHolds(reader, seq, previousSeq, previousHash, prevHash, hash))
            {
                firstBroken = seq;
            }
            previousSeq = seq;
            previousHash = hash;
        }
        return new AuditVerification(firstBroken is null, records, firstBroken, records == 0 ? null : previousHash);
    }

    private static bool LinkHolds(SqliteDataReader reader, long seq, long previousSeq, byte[] previousHash, byte[] prevHash, byte[] hash)
    {
        if (seq != previousSeq + 1 || !prevHash.AsSpan().SequenceEqual(previousHash) || prevHash.Length != AuditChain.HashSize)
        {
            return false;
        }
        if (reader.GetFieldType(1) != typeof(long) || reader.GetFieldType(6) != typeof(long) || reader.IsDBNull(4)
            || reader.GetInt64(6) is < int.MinValue or > int.MaxValue)
        {
            return false;
        }
        var expected = AuditChain.ComputeHash(prevHash, seq, reader.GetInt64(1), reader.GetStringOrNull(2), reader.GetStringOrNull(3),
            reader.GetString(4), reader.GetStringOrNull(5), (int)reader.GetInt64(6), reader.GetStringOrNull(7));
        return expected.AsSpan().SequenceEqual(hash);
    }

    /// <summary>A hash column as bytes; text (tampering) as its UTF-8 bytes, which never equal a real hash's.</summary>
    private static byte[] Bytes(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? [] : reader.GetValue(ordinal) switch
        {
            byte[] bytes => bytes,
            var other => Encoding.UTF8.GetBytes(Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture) ?? ""),
        };

    private static AuditRecord Map(SqliteDataReader r) => new(
        r.GetInt64(0),
        SqliteCommandExtensions.FromUnixMs(r.GetInt64(1)),
        r.GetStringOrNull(2),
        r.GetStringOrNull(3),
        r.GetString(4),
        r.GetStringOrNull(5),
        r.GetInt32(6),
        r.GetStringOrNull(7),
        r.GetFieldValue<byte[]>(8),
        r.GetFieldValue<byte[]>(9));
}
