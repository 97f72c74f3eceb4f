using Skiff.Core.Tasks;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Tests.Sqlite;

public sealed class SqliteTaskStoreQueryTests : StoreTestBase
{
    private async Task<List<TaskRecord>> ReadAllPagesAsync(TaskQuery query)
    {
        var all = new List<TaskRecord>();
        long? cursor = null;
        for (var pages = 0; pages < 1_000; pages++)
        {
            var page = await Store.ListTasksAsync(query with { Cursor = cursor }, Ct);
            Assert.True(page.Items.Count <= query.Limit);
            all.AddRange(page.Items);
            if (page.NextCursor is null)
            {
                return all;
            }
            Assert.Equal(query.Limit, page.Items.Count);
            cursor = page.NextCursor;
        }
        throw new Xunit.Sdk.XunitException("paging did not end");
    }

    [Fact]
    public async Task ListTasksAsync_NoFilter_NewestFirst()
    {
        var created = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            created.Add((await CreateAsync()).TaskId);
        }

        var page = await Store.ListTasksAsync(new TaskQuery(null, null, null, null, 10), Ct);

        Assert.Equal(Enumerable.Reverse(created), page.Items.Select(t => t.TaskId));
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task ListTasksAsync_KeysetPaging_NoDuplicatesNoGaps()
    {
        var created = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            created.Add((await CreateAsync()).TaskId);
        }

        var all = await ReadAllPagesAsync(new TaskQuery(null, null, null, null, 5));

        Assert.Equal(Enumerable.Reverse(created), all.Select(t => t.TaskId));
    }

    [Fact]
    public async Task ListTasksAsync_TasksCreatedWhilePaging_LaterPagesNeitherRepeatNorSkip()
    {
        // Keyset paging: new tasks land before the first page, so the pages already read do not shift.
        var created = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            created.Add((await CreateAsync()).TaskId);
        }
        var query = new TaskQuery(null, null, null, null, 4);

        var first = await Store.ListTasksAsync(query, Ct);
        for (var i = 0; i < 5; i++)
        {
            await CreateAsync();
        }
        var second = await Store.ListTasksAsync(query with { Cursor = first.NextCursor }, Ct);
        var third = await Store.ListTasksAsync(query with { Cursor = second.NextCursor }, Ct);

        Assert.Equal(Enumerable.Reverse(created), first.Items.Concat(second.Items).Concat(third.Items).Select(t => t.TaskId));
        Assert.Null(third.NextCursor);
    }

    [Fact]
    public async Task ListTasksAsync_StatusFilter_OnlyThatStatus()
    {
        var queued = await CreateAsync();
        var running = await LeaseAsync((await CreateAsync()).TaskId);
        var succeeded = await LeaseAsync((await CreateAsync()).TaskId);
        await CompleteAsync(succeeded, AttemptOutcome.Succeeded);

        var runningPage = await Store.ListTasksAsync(new TaskQuery(TaskState.Running, null, null, null, 10), Ct);
        var queuedPage = await Store.ListTasksAsync(new TaskQuery(TaskState.Queued, null, null, null, 10), Ct);
        var failedPage = await Store.ListTasksAsync(new TaskQuery(TaskState.Failed, null, null, null, 10), Ct);

        Assert.Equal(running.TaskId, Assert.Single(runningPage.Items).TaskId);
        Assert.Equal(queued.TaskId, Assert.Single(queuedPage.Items).TaskId);
        Assert.Empty(failedPage.Items);
    }

    [Fact]
    public async Task ListTasksAsync_UserAndPriorityFiltersPaged_MatchTheReference()
    {
        var created = new List<TaskRecord>();
        for (var i = 0; i < 40; i++)
        {
            created.Add(await CreateAsync(user: (i % 3) switch { 0 => "alice", 1 => "bob", _ => "carol" }, priority: i % 4 == 0 ? 8 : 2));
        }

        var bob = await ReadAllPagesAsync(new TaskQuery(null, "bob", null, null, 3));
        var priority8 = await ReadAllPagesAsync(new TaskQuery(null, null, 8, null, 4));
        var alice8Queued = await ReadAllPagesAsync(new TaskQuery(TaskState.Queued, "alice", 8, null, 2));

        Assert.Equal(created.Where(t => t.UserId == "bob").Reverse().Select(t => t.TaskId), bob.Select(t => t.TaskId));
        Assert.Equal(created.Where(t => t.Spec.Priority == 8).Reverse().Select(t => t.TaskId), priority8.Select(t => t.TaskId));
        Assert.Equal(created.Where(t => t.UserId == "alice" && t.Spec.Priority == 8).Reverse().Select(t => t.TaskId), alice8Queued.Select(t => t.TaskId));
        Assert.NotEmpty(alice8Queued);
    }

    [Fact]
    public async Task ListTasksAsync_UnknownUser_Empty()
    {
        await CreateAsync(user: "alice");

        var page = await Store.ListTasksAsync(new TaskQuery(null, "mallory", null, null, 10), Ct);

        Assert.Empty(page.Items);
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task LoadWaitingAsync_Mixed_QueuedAndRetryingOldestReadyFirst()
    {
        var retried = await LeaseAsync((await CreateAsync()).TaskId);  // created first, ready again only after its backoff
        var queuedA = await CreateAsync();
        await LeaseAsync((await CreateAsync()).TaskId);                 // running: not waiting
        var done = await LeaseAsync((await CreateAsync()).TaskId);
        await CompleteAsync(done, AttemptOutcome.Succeeded);            // terminal: not waiting
        await Store.CancelAsync((await CreateAsync()).TaskId, Now, Ct);  // terminal: not waiting
        await CompleteAsync(retried, AttemptOutcome.Failed, error: "x"); // ready at now + ~1 s
        var queuedB = await CreateAsync();
        Time.Advance(TimeSpan.FromSeconds(5));
        var queuedC = await CreateAsync();

        var waiting = await Store.LoadWaitingAsync(Ct);

        Assert.Equal([queuedA.TaskId, queuedB.TaskId, retried.TaskId, queuedC.TaskId], waiting.Select(t => t.TaskId));
        Assert.Equal(TaskState.Retrying, waiting[2].Status);
        Assert.NotNull(waiting[2].NotBefore);
        Assert.All(waiting, t => Assert.True(t.Status.IsWaiting()));
    }

    [Fact]
    public async Task LoadExpiredLeasesAsync_ByTimeAndByOwner_ExpectedTasks()
    {
        var start = Now;
        var a = await LeaseAsync((await CreateAsync()).TaskId, "worker-1", TimeSpan.FromSeconds(10));
        var b = await LeaseAsync((await CreateAsync()).TaskId, "worker-2", TimeSpan.FromSeconds(60));
        var c = await LeaseAsync((await CreateAsync()).TaskId, "worker-2", TimeSpan.FromSeconds(5));
        var finished = await LeaseAsync((await CreateAsync()).TaskId, "worker-2", TimeSpan.FromSeconds(1));
        await CompleteAsync(finished, AttemptOutcome.Succeeded, owner: "worker-2");
        await CreateAsync();

        var expiredAt20 = await Store.LoadExpiredLeasesAsync(start + TimeSpan.FromSeconds(20), null, Ct);
        var expiredOrWorker2At20 = await Store.LoadExpiredLeasesAsync(start + TimeSpan.FromSeconds(20), "worker-2", Ct);
        var worker2AtStart = await Store.LoadExpiredLeasesAsync(start, "worker-2", Ct);
        var noneYet = await Store.LoadExpiredLeasesAsync(start + TimeSpan.FromSeconds(1), null, Ct);

        Assert.Equal(new[] { a.TaskId, c.TaskId }.Order(), expiredAt20.Select(t => t.TaskId).Order());
        Assert.Equal(new[] { a.TaskId, b.TaskId, c.TaskId }.Order(), expiredOrWorker2At20.Select(t => t.TaskId).Order());
        Assert.Equal(new[] { b.TaskId, c.TaskId }.Order(), worker2AtStart.Select(t => t.TaskId).Order());
        Assert.Empty(noneYet);
        Assert.All(expiredOrWorker2At20, t => Assert.Equal(TaskState.Running, t.Status));
    }

    [Fact]
    public async Task LoadExpiredLeasesAsync_AfterHeartbeat_NotExpired()
    {
        var start = Now;
        var leased = await LeaseAsync((await CreateAsync()).TaskId, "worker-1", TimeSpan.FromSeconds(10));

        await Store.ExtendLeasesAsync([leased.TaskId], "worker-1", start + TimeSpan.FromMinutes(1), Ct);

        Assert.Empty(await Store.LoadExpiredLeasesAsync(start + TimeSpan.FromSeconds(30), null, Ct));
        Assert.Single(await Store.LoadExpiredLeasesAsync(start + TimeSpan.FromMinutes(2), null, Ct));
    }

    [Fact]
    public async Task CountAsync_Tasks_TotalAndDeadLettered()
    {
        await CreateAsync();
        await CreateAsync();
        await DeadLetterAsync(await CreateAsync(maxAttempts: 1));

        var counts = await Store.CountAsync(Ct);

        Assert.Equal(3, counts.Total);
        Assert.Equal(1, counts.DeadLettered);
    }
}
