using Microsoft.Data.Sqlite;
using Skiff.Core.Tasks;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;

namespace Skiff.Storage.Tests.Sqlite;

/// <summary>The single writer: many concurrent callers share commits, and one bad unit fails only its caller.</summary>
public sealed class GroupCommitTests : StoreTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Occupies the writer until released, so every write queued meanwhile is guaranteed to run in the
    /// next batch together (otherwise whether callers share a batch depends on timing).
    /// </summary>
    private async Task<(Task Blocker, ManualResetEventSlim Release)> HoldWriterAsync()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new ManualResetEventSlim();
        var blocker = Store.WriteAsync(_ =>
        {
            started.TrySetResult();
            // The writer runs on its own thread; blocking it here is the point.
            release.Wait(Deadline);
            return 0;
        }, Ct);
        await started.Task.WaitAsync(Deadline);
        return (blocker, release);
    }

    [Fact]
    public async Task SustainedTransitions_WalStartsOverInsteadOfGrowing()
    {
        // Each task leaves ~6.7 KB of WAL frames: 40,000 tasks would grow a WAL that never starts over past 250 MB
        // (a checkpoint beside a busy writer never catches up with it). Finished between transactions by the
        // writer, the WAL starts over once it holds its limit (16 MB here, 256 MB by default), and stays near that
        // plus what one checkpoint tick adds.
        await Store.DisposeAsync();
        Store = SqliteTaskStore.Open(StorePath, walFinishFrames: 4096);
        const int pipelines = 64;
        const int perPipeline = 625;
        var spec = new TaskSpec { Command = ["true"] };
        var decision = AttemptDecision.Decide(AttemptOutcome.Succeeded, 1, 3, false, Retry, Now, 0, null);

        await Task.WhenAll(Enumerable.Range(0, pipelines).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perPipeline; i++)
            {
                var id = TaskIds.New(Now);
                await Store.CreateTaskAsync(new NewTask(id, "alice", spec, Now, null), Ct);
                var leased = await Store.LeaseAsync(id, "worker-1", Now, Now.AddMinutes(1), Ct);
                var ended = await Store.CompleteAttemptAsync(new AttemptCompletion(id, leased.Task!.Attempts, "worker-1", decision, Now, 0, null, null), Ct);
                Assert.True(ended.Applied);
            }
        })));

        Assert.Equal(pipelines * perPipeline, RawCount($"SELECT COUNT(*) FROM tasks WHERE status = {(int)TaskState.Succeeded}"));
        Assert.InRange(new FileInfo(StorePath + "-wal").Length, 0, 128L * 1024 * 1024);
    }

    [Fact]
    public async Task CreateTaskAsync_TwoThousandConcurrentCalls_AllCommittedAndReadable()
    {
        var tasks = Enumerable.Range(0, 2_000).Select(i => NewTask(user: $"user-{i % 7}")).ToArray();

        var outcomes = await Task.WhenAll(tasks.Select(t => Task.Run(() => Store.CreateTaskAsync(t, Ct))));

        Assert.All(outcomes, o => Assert.True(o.Created));
        Assert.Equal(2_000, RawCount("SELECT COUNT(*) FROM tasks"));
        // A submission writes no history line: GetTaskAsync derives the "submitted" event from the task row.
        Assert.Equal(0, RawCount("SELECT COUNT(*) FROM tasks WHERE history <> ''"));
        foreach (var task in tasks)
        {
            var stored = await Store.GetTaskAsync(task.TaskId, false, Ct);
            Assert.NotNull(stored);
            Assert.Equal(task.UserId, stored.UserId);
        }
    }

    [Fact]
    public async Task CreateTaskAsync_AcknowledgedThenStoreReopened_EveryTaskThere()
    {
        var tasks = Enumerable.Range(0, 2_000).Select(_ => NewTask()).ToArray();
        await Task.WhenAll(tasks.Select(t => Store.CreateTaskAsync(t, Ct)));

        await ReopenAsync();

        var ids = new HashSet<string>(StringComparer.Ordinal);
        long? cursor = null;
        do
        {
            var page = await Store.ListTasksAsync(new TaskQuery(null, null, null, cursor, 500), Ct);
            foreach (var item in page.Items)
            {
                Assert.True(ids.Add(item.TaskId));
            }
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.True(ids.SetEquals(tasks.Select(t => t.TaskId)));
        Assert.Equal(2_000, (await Store.CountAsync(Ct)).Total);
    }

    [Fact]
    public async Task CreateTaskAsync_Acknowledged_InTheFilesWithoutACleanClose()
    {
        // What kill -9 leaves behind: the database and its WAL as they are on disk right now, the store never
        // closed and the WAL never checkpointed. Opening a copy must replay every acknowledged commit.
        var tasks = Enumerable.Range(0, 300).Select(_ => NewTask()).ToArray();
        await Task.WhenAll(tasks.Select(t => Store.CreateTaskAsync(t, Ct)));
        var crashed = Temp.Combine("crashed", "skiff.db");
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(crashed)!);
        File.Copy(StorePath, crashed);
        File.Copy(StorePath + "-wal", crashed + "-wal");

        await using var recovered = SqliteTaskStore.Open(crashed);

        foreach (var task in tasks)
        {
            Assert.NotNull(await recovered.GetTaskAsync(task.TaskId, false, Ct));
        }
    }

    [Fact]
    public async Task CreateTaskAsync_DuplicateTaskIdInABatch_OnlyThatCallerFails()
    {
        var existing = await CreateAsync();
        var (blocker, release) = await HoldWriterAsync();
        using (release)
        {
            var good = Enumerable.Range(0, 100).Select(_ => NewTask()).ToArray();
            var before = good[..50].Select(t => Store.CreateTaskAsync(t, Ct)).ToArray();
            var duplicate = Store.CreateTaskAsync(NewTask() with { TaskId = existing.TaskId }, Ct);
            var after = good[50..].Select(t => Store.CreateTaskAsync(t, Ct)).ToArray();

            release.Set();
            await blocker;

            var error = await Assert.ThrowsAsync<SqliteException>(() => duplicate);
            Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT
            var outcomes = await Task.WhenAll(before.Concat(after));
            Assert.All(outcomes, o => Assert.True(o.Created));
            foreach (var task in good)
            {
                Assert.NotNull(await Store.GetTaskAsync(task.TaskId, false, Ct));
            }
            Assert.Equal(101, RawCount("SELECT COUNT(*) FROM tasks"));
            Assert.Equal("alice", (await GetAsync(existing.TaskId)).UserId);

            await ReopenAsync();
            Assert.Equal(101, RawCount("SELECT COUNT(*) FROM tasks"));
        }
    }

    [Fact]
    public async Task WriteAsync_UnitThrowsInABatch_OthersCommitAndIdempotencyStillHolds()
    {
        // After the fallback re-runs each unit alone, the second create with the same key must still see the
        // first one (it was rolled back with the failed batch and written again).
        var (blocker, release) = await HoldWriterAsync();
        using (release)
        {
            var first = Store.CreateTaskAsync(NewTask(key: "k"), Ct);
            var failing = Store.WriteAsync<int>(_ => throw new InvalidOperationException("bad unit"), Ct);
            var second = Store.CreateTaskAsync(NewTask(key: "k"), Ct);

            release.Set();
            await blocker;

            await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
            var a = await first;
            var b = await second;
            Assert.True(a.Created);
            Assert.False(b.Created);
            Assert.Equal(a.Task.TaskId, b.Task.TaskId);
            Assert.Equal(1, RawCount("SELECT COUNT(*) FROM tasks"));
            Assert.Equal(0, RawCount("SELECT COUNT(*) FROM tasks WHERE history <> ''"));
        }
    }

    [Fact]
    public async Task WriteAsync_AfterAFailedUnit_WriterKeepsWorking()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.WriteAsync<int>(_ => throw new InvalidOperationException("bad"), Ct));

        var created = await Store.CreateTaskAsync(NewTask(), Ct);

        Assert.True(created.Created);
        Assert.NotNull(await Store.GetTaskAsync(created.Task.TaskId, false, Ct));
    }

    [Fact]
    public async Task WriteAsync_FailedUnitAlone_ItsPartialWritesRolledBack()
    {
        var task = NewTask();

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.WriteAsync<int>(s =>
        {
            s.Execute($"INSERT INTO users(id, name, role, created_at) VALUES ('u1', 'half-written', 'user', 0)");
            throw new InvalidOperationException("fails after writing");
        }, Ct));
        await Store.CreateTaskAsync(task, Ct);

        Assert.Equal(0, RawCount("SELECT COUNT(*) FROM users"));
        Assert.Equal(1, RawCount("SELECT COUNT(*) FROM tasks"));
    }

    [Fact]
    public async Task LeaseAsync_ManyWorkersRaceForOneTask_ExactlyOneWins()
    {
        var task = await CreateAsync();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(() => Store.LeaseAsync(task.TaskId, $"worker-{i}", Now, Now + TimeSpan.FromSeconds(30), Ct))));

        var winner = Assert.Single(outcomes, o => o.Applied);
        Assert.All(outcomes.Where(o => !o.Applied), o => Assert.Equal(TransitionResult.Conflict, o.Result));
        var stored = await GetAsync(task.TaskId);
        Assert.Equal(1, stored.Attempts);
        Assert.Equal(winner.Task!.LeaseOwner, stored.LeaseOwner);
        Assert.Equal(TaskState.Running, stored.Status);
    }

    [Fact]
    public async Task ListTasksAsync_WhileWritesCommit_CountsNeverGoBackwards()
    {
        var writes = Enumerable.Range(0, 500).Select(_ => NewTask()).ToArray();
        var creating = Task.WhenAll(writes.Select(t => Store.CreateTaskAsync(t, Ct)));

        // Readers run beside the writer (WAL) and see committed state only, so what they see only grows.
        var counts = new List<int>();
        while (!creating.IsCompleted)
        {
            var page = await Store.ListTasksAsync(new TaskQuery(null, null, null, null, 1_000), Ct);
            counts.Add(page.Items.Count);
        }
        await creating;

        Assert.Equal(counts.Order(), counts);
        Assert.Equal(500, (await Store.ListTasksAsync(new TaskQuery(null, null, null, null, 1_000), Ct)).Items.Count);
    }
}
