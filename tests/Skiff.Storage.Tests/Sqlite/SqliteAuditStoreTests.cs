using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Tests.Sqlite;

/// <summary>The audit log: an append-only hash chain, and verification that finds where it was tampered with.</summary>
public sealed class SqliteAuditStoreTests : StoreTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private AuditEntry Entry(string? user = "u_alice", string action = "tasks.submit", string? target = "t_1", int outcome = 201)
    {
        var at = Now;
        Time.Advance(TimeSpan.FromSeconds(1));
        return new AuditEntry(at, user, user is null ? null : "k_" + user, action, target, outcome, "127.0.0.1");
    }

    private async Task<AuditRecord> AppendOneAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        Assert.Single(await Store.Audit.AppendAsync([entry], cancellationToken));

    private async Task<List<AuditRecord>> AppendAsync(int count)
    {
        var records = new List<AuditRecord>();
        for (var i = 1; i <= count; i++)
        {
            records.Add(await AppendOneAsync(Entry(target: $"t_{i}"), Ct));
        }
        return records;
    }

    /// <summary>Changes the file behind the store's back, as someone with access to it could (triggers dropped first).</summary>
    private void Tamper(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; " + sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public async Task AppendAsync_ThreeEntries_EachLinkedToThePreviousHash()
    {
        var entry = Entry(target: "t_first");

        var first = await AppendOneAsync(entry, Ct);
        var second = await AppendOneAsync(Entry(), Ct);
        var third = await AppendOneAsync(Entry(user: null, action: "unmatched", target: "/nowhere", outcome: 401), Ct);

        Assert.Equal([1L, 2L, 3L], [first.Seq, second.Seq, third.Seq]);
        Assert.Equal(new byte[AuditChain.HashSize], first.PrevHash);
        Assert.Equal(first.Hash, second.PrevHash);
        Assert.Equal(second.Hash, third.PrevHash);
        Assert.All([first, second, third], r => Assert.Equal(AuditChain.ComputeHash(r), r.Hash));
        Assert.Equal(entry.At.ToUnixTimeMilliseconds(), first.At.ToUnixTimeMilliseconds());
        Assert.Equal(("u_alice", "k_u_alice", "tasks.submit", "t_first", 201, "127.0.0.1"),
            (first.UserId, first.KeyId, first.Action, first.Target, first.Outcome, first.Source));
    }

    [Fact]
    public async Task AppendAsync_SeveralEntriesInOneCall_LinkedInTheirOrder()
    {
        var first = await AppendOneAsync(Entry(target: "t_0"), Ct);
        var entries = Enumerable.Range(1, 4).Select(i => Entry(target: $"t_{i}")).ToList();

        var records = await Store.Audit.AppendAsync(entries, Ct);

        Assert.Equal([2L, 3L, 4L, 5L], records.Select(r => r.Seq));
        Assert.Equal(["t_1", "t_2", "t_3", "t_4"], records.Select(r => r.Target));
        Assert.Equal([first.Hash, .. records.Take(3).Select(r => r.Hash)], records.Select(r => r.PrevHash));
        Assert.True((await Store.Audit.VerifyAsync(Ct)).Valid);
    }

    [Fact]
    public async Task VerifyAsync_UntouchedChain_ValidWithEveryRecordCountedAndTheHead()
    {
        var records = await AppendAsync(5);

        var result = await Store.Audit.VerifyAsync(Ct);

        Assert.True(result.Valid);
        Assert.Equal(5, result.Records);
        Assert.Null(result.FirstBrokenSeq);
        Assert.Equal(records[^1].Hash, result.LastHash);
    }

    [Fact]
    public async Task VerifyAsync_EmptyLog_ValidWithNoRecords()
    {
        var result = await Store.Audit.VerifyAsync(Ct);

        Assert.Equal(new AuditVerification(true, 0, null, null), result);
    }

    [Fact]
    public async Task AppendAsync_ManyConcurrentCalls_OneUnbrokenChainWithoutGaps()
    {
        var entries = Enumerable.Range(0, 1_000).Select(i => Entry(target: $"t_{i}")).ToList();

        var records = await Task.WhenAll(entries.Select(e => Task.Run(() => AppendOneAsync(e, Ct))));

        Assert.Equal(Enumerable.Range(1, 1_000).Select(i => (long)i), records.Select(r => r.Seq).Order());
        var result = await Store.Audit.VerifyAsync(Ct);
        Assert.True(result.Valid, $"broken at {result.FirstBrokenSeq}");
        Assert.Equal(1_000, result.Records);
    }

    /// <summary>
    /// Regression guard: the group-commit writer rolls a whole batch back when one unit fails and reruns each unit
    /// alone. A chain head remembered from the rolled-back run would link the rerun append to a record that was
    /// never committed.
    /// </summary>
    [Fact]
    public async Task AppendAsync_BatchRolledBackByAnotherFailingWrite_ChainStillIntact()
    {
        await AppendAsync(1);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var blocker = Store.WriteAsync(_ =>
        {
            started.TrySetResult();
            release.Wait(Deadline);
            return 0;
        }, Ct);
        await started.Task.WaitAsync(Deadline);
        var before = AppendOneAsync(Entry(target: "before"), Ct);
        var failing = Store.WriteAsync<int>(_ => throw new InvalidOperationException("boom"), Ct);
        var after = AppendOneAsync(Entry(target: "after"), Ct);

        release.Set();
        await blocker;
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        var records = await Task.WhenAll(before, after);

        Assert.Equal([2L, 3L], records.Select(r => r.Seq));
        var result = await Store.Audit.VerifyAsync(Ct);
        Assert.True(result.Valid, $"broken at {result.FirstBrokenSeq}");
        Assert.Equal(3, result.Records);
    }

    [Fact]
    public async Task AppendAsync_AfterReopen_ContinuesTheChainFromTheStoredHead()
    {
        var records = await AppendAsync(2);

        await ReopenAsync();
        var next = await AppendOneAsync(Entry(), Ct);

        Assert.Equal(3, next.Seq);
        Assert.Equal(records[^1].Hash, next.PrevHash);
        Assert.True((await Store.Audit.VerifyAsync(Ct)).Valid);
    }

    [Theory]
    [InlineData("UPDATE audit_log SET target = 't_other' WHERE seq = 3")]
    [InlineData("UPDATE audit_log SET outcome = 200 WHERE seq = 3")]
    [InlineData("UPDATE audit_log SET user_id = NULL WHERE seq = 3")]
    [InlineData("UPDATE audit_log SET at = at + 1 WHERE seq = 3")]
    [InlineData("UPDATE audit_log SET action = 'tasks.cancel' WHERE seq = 3")]
    [InlineData("UPDATE audit_log SET source = '10.0.0.1' WHERE seq = 3")]
    [InlineData("UPDATE audit_log SET outcome = 'two hundred' WHERE seq = 3")]
    [InlineData("UPDATE audit_log SET hash = 'x' WHERE seq = 3")]
    public async Task VerifyAsync_OneRecordChangedInTheFile_ReportsThatRecord(string tampering)
    {
        await AppendAsync(5);

        Tamper(tampering);
        var result = await Store.Audit.VerifyAsync(Ct);

        Assert.False(result.Valid);
        Assert.Equal(3, result.FirstBrokenSeq);
        Assert.Equal(5, result.Records);
    }

    [Fact]
    public async Task VerifyAsync_MiddleRecordDeleted_ReportsTheRecordAfterTheGap()
    {
        await AppendAsync(5);

        Tamper("DELETE FROM audit_log WHERE seq = 3");
        var result = await Store.Audit.VerifyAsync(Ct);

        Assert.False(result.Valid);
        Assert.Equal(4, result.FirstBrokenSeq);
        Assert.Equal(4, result.Records);
    }

    [Fact]
    public async Task VerifyAsync_FirstRecordDeleted_ReportsTheNewFirstRecord()
    {
        await AppendAsync(3);

        Tamper("DELETE FROM audit_log WHERE seq = 1");
        var result = await Store.Audit.VerifyAsync(Ct);

        Assert.Equal(2, result.FirstBrokenSeq);
    }

    [Fact]
    public async Task VerifyAsync_ChangedRecordWithItsHashRecomputed_NextRecordsLinkBreaks()
    {
        var records = await AppendAsync(5);
        var forged = records[2] with { Target = "t_other" };
        var forgedHash = Convert.ToHexString(AuditChain.ComputeHash(forged));

        Tamper($"UPDATE audit_log SET target = 't_other', hash = X'{forgedHash}' WHERE seq = 3");
        var result = await Store.Audit.VerifyAsync(Ct);

        Assert.Equal(4, result.FirstBrokenSeq);
    }

    [Theory]
    [InlineData("UPDATE audit_log SET target = 'x' WHERE seq = 1")]
    [InlineData("DELETE FROM audit_log WHERE seq = 1")]
    public async Task AuditLog_UpdateOrDeleteThroughSql_RefusedByTheTable(string sql)
    {
        await AppendAsync(1);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;

        var error = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());

        Assert.Contains("append-only", error.Message, StringComparison.Ordinal);
        Assert.True((await Store.Audit.VerifyAsync(Ct)).Valid);
    }

    [Fact]
    public async Task ListAsync_FiltersAndCursor_NewestFirstAndEveryMatchOnce()
    {
        var start = Now;
        var alice = new List<long>();
        for (var i = 0; i < 7; i++)
        {
            alice.Add((await AppendOneAsync(Entry(user: "u_alice", action: i % 2 == 0 ? "tasks.submit" : "tasks.cancel"), Ct)).Seq);
            await AppendOneAsync(Entry(user: "u_bob"), Ct);
        }
        await AppendOneAsync(Entry(user: null, action: "unmatched", outcome: 401), Ct);

        var pages = new List<AuditPage>();
        long? cursor = null;
        do
        {
            var page = await Store.Audit.ListAsync(new AuditQuery("u_alice", null, null, null, cursor, 3), Ct);
            pages.Add(page);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        var submits = await Store.Audit.ListAsync(new AuditQuery("u_alice", "tasks.submit", null, null, null, 100), Ct);
        // Entries are one second apart from start: alice's at 0,2,4,.. s, bob's at 1,3,5,.. s.
        var window = await Store.Audit.ListAsync(new AuditQuery(null, null, start.AddSeconds(2), start.AddSeconds(5), null, 100), Ct);
        var unauthenticated = await Store.Audit.ListAsync(new AuditQuery(null, "unmatched", null, null, null, 100), Ct);

        Assert.Equal([3, 3, 1], pages.Select(p => p.Items.Count));
        Assert.Equal(Enumerable.Reverse(alice), pages.SelectMany(p => p.Items).Select(r => r.Seq));
        Assert.All(pages.SelectMany(p => p.Items), r => Assert.Equal("u_alice", r.UserId));
        Assert.Equal([alice[6], alice[4], alice[2], alice[0]], submits.Items.Select(r => r.Seq));
        Assert.Null(submits.NextCursor);
        Assert.Equal([5L, 4L, 3L], window.Items.Select(r => r.Seq));
        var anonymous = Assert.Single(unauthenticated.Items);
        Assert.Null(anonymous.UserId);
        Assert.Null(anonymous.KeyId);
    }

    [Fact]
    public void ComputeHash_DocumentedEncoding_MatchesAnIndependentEncoding()
    {
        var prev = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var expected = new List<byte>();
        expected.AddRange("skiff.audit.v1"u8.ToArray());
        expected.AddRange(prev);
        expected.AddRange(BigEndian(7L));
        expected.AddRange(BigEndian(1_700_000_000_123L));
        var outcome = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(outcome, 403);
        expected.AddRange(outcome);
        foreach (var field in new[] { "u_1", null, "tasks.cancel", "t_é", "::1" })
        {
            if (field is null)
            {
                expected.Add(0);
                continue;
            }
            var bytes = Encoding.UTF8.GetBytes(field);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            expected.Add(1);
            expected.AddRange(length);
            expected.AddRange(bytes);
        }

        var hash = AuditChain.ComputeHash(prev, 7, 1_700_000_000_123, "u_1", null, "tasks.cancel", "t_é", 403, "::1");

        Assert.Equal(SHA256.HashData(expected.ToArray()), hash);
    }

    [Theory]
    [InlineData("ab", "c", "a", "bc")]
    [InlineData(null, "x", "", "x")]
    [InlineData("x", null, null, "x")]
    public void ComputeHash_TextMovedBetweenFieldsOrNullVersusEmpty_DifferentHashes(string? user1, string? key1, string? user2, string? key2)
    {
        var a = AuditChain.ComputeHash(AuditChain.Genesis, 1, 0, user1, key1, "tasks.submit", null, 201, null);
        var b = AuditChain.ComputeHash(AuditChain.Genesis, 1, 0, user2, key2, "tasks.submit", null, 201, null);

        Assert.NotEqual(a, b);
    }

    private static byte[] BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }
}
