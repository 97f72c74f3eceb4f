using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Skiff.Server.Audit;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Audit;

/// <summary>The queue between requests and the store: order kept, and nothing queued is lost at shutdown.</summary>
public sealed class AuditQueueTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string StorePath => _directory.Combine("skiff.db");

    public void Dispose() => _directory.Dispose();

    private static AuditEntry Entry(int i) =>
        new(DateTimeOffset.UnixEpoch.AddSeconds(i), "u_1", "k_1", "tasks.submit", $"t_{i}", 201, "127.0.0.1");

    [Fact]
    public async Task DisposeAsync_EntriesQueuedWhileTheStoreIsBusy_AllStoredInOrderBeforeItReturns()
    {
        await using var store = SqliteTaskStore.Open(StorePath);
        var queue = new AuditQueue(store, TimeProvider.System, NullLogger<AuditQueue>.Instance);
        Task disposing;
        // Another connection holds the write lock: the queue's appends wait for it, as behind a slow disk.
        using (var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString()))
        {
            holder.Open();
            using var begin = holder.CreateCommand();
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
            for (var i = 1; i <= 300; i++)
            {
                queue.Enqueue(Entry(i));
            }
            disposing = queue.DisposeAsync().AsTask();
            Assert.False(disposing.IsCompleted);
            using var commit = holder.CreateCommand();
            commit.CommandText = "COMMIT";
            commit.ExecuteNonQuery();
        }

        await disposing.WaitAsync(TimeSpan.FromSeconds(30));

        var page = await store.Audit.ListAsync(new AuditQuery(null, null, null, null, null, 500), CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, 300).Reverse().Select(i => $"t_{i}"), page.Items.Select(r => r.Target));
        Assert.Equal(Enumerable.Range(1, 300).Reverse().Select(i => (long)i), page.Items.Select(r => r.Seq));
        Assert.True((await store.Audit.VerifyAsync(CancellationToken.None)).Valid);
    }

    /// <summary>Regression guard: the round's collection delay runs on the injected clock, which must not hold up shutdown.</summary>
    [Fact]
    public async Task DisposeAsync_ClockThatNeverMoves_StillStoresEverything()
    {
        await using var store = SqliteTaskStore.Open(StorePath);
        var queue = new AuditQueue(store, new FakeTimeProvider(), NullLogger<AuditQueue>.Instance);
        for (var i = 1; i <= 10; i++)
        {
            queue.Enqueue(Entry(i));
        }

        await queue.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(10, (await store.Audit.VerifyAsync(CancellationToken.None)).Records);
    }

    [Fact]
    public async Task Enqueue_AfterDispose_IgnoredWithoutThrowing()
    {
        await using var store = SqliteTaskStore.Open(StorePath);
        var queue = new AuditQueue(store, TimeProvider.System, NullLogger<AuditQueue>.Instance);
        queue.Enqueue(Entry(1));
        await queue.DisposeAsync();

        queue.Enqueue(Entry(2));

        var result = await store.Audit.VerifyAsync(CancellationToken.None);
        Assert.Equal(1, result.Records);
    }
}
