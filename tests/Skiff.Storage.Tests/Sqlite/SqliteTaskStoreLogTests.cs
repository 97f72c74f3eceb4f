using Skiff.Core.Tasks;

namespace Skiff.Storage.Tests.Sqlite;

public sealed class SqliteTaskStoreLogTests : StoreTestBase
{
    private LogLine Line(long lineNo, string text, LogStream stream = LogStream.Stdout, int attempt = 1) =>
        new(lineNo, Now, stream, attempt, text);

    [Fact]
    public async Task AppendLogsAsync_ThenReadAfterZero_AllLinesInOrder()
    {
        var task = await CreateAsync();
        var lines = new[] { Line(1, "one"), Line(2, "two", LogStream.Stderr), Line(3, "three ⛵", LogStream.System, attempt: 2) };

        await Store.AppendLogsAsync(task.TaskId, lines, Ct);
        var read = await Store.ReadLogsAsync(task.TaskId, 0, 100, Ct);

        Assert.Equal(lines, read);
        Assert.Equal(3, await Store.LastLogLineNoAsync(task.TaskId, Ct));
    }

    [Fact]
    public async Task ReadLogsAsync_AfterLineNumberWithLimit_OnlyLaterLinesUpToLimit()
    {
        var task = await CreateAsync();
        await Store.AppendLogsAsync(task.TaskId, Enumerable.Range(1, 10).Select(i => Line(i, $"line {i}")).ToArray(), Ct);

        var afterFour = await Store.ReadLogsAsync(task.TaskId, 4, 3, Ct);
        var afterLast = await Store.ReadLogsAsync(task.TaskId, 10, 100, Ct);

        Assert.Equal([5L, 6L, 7L], afterFour.Select(l => l.LineNo));
        Assert.Empty(afterLast);
    }

    [Fact]
    public async Task AppendLogsAsync_SameLineNumbersAgain_DuplicatesIgnored()
    {
        // A worker that retries a flush after a timeout sends lines the store may already hold.
        var task = await CreateAsync();
        await Store.AppendLogsAsync(task.TaskId, [Line(1, "first"), Line(2, "second")], Ct);

        await Store.AppendLogsAsync(task.TaskId, [Line(2, "second, resent"), Line(3, "third")], Ct);
        var read = await Store.ReadLogsAsync(task.TaskId, 0, 100, Ct);

        Assert.Equal(["first", "second", "third"], read.Select(l => l.Text));
    }

    [Fact]
    public async Task AppendLogsAsync_TwoTasks_KeptApart()
    {
        var a = await CreateAsync();
        var b = await CreateAsync();

        await Store.AppendLogsAsync(a.TaskId, [Line(1, "a1"), Line(2, "a2")], Ct);
        await Store.AppendLogsAsync(b.TaskId, [Line(1, "b1")], Ct);

        Assert.Equal(["a1", "a2"], (await Store.ReadLogsAsync(a.TaskId, 0, 10, Ct)).Select(l => l.Text));
        Assert.Equal(["b1"], (await Store.ReadLogsAsync(b.TaskId, 0, 10, Ct)).Select(l => l.Text));
        Assert.Equal(1, await Store.LastLogLineNoAsync(b.TaskId, Ct));
    }

    [Fact]
    public async Task ReadLogsAsync_UnknownTaskOrNoLogs_EmptyAndLastLineZero()
    {
        var task = await CreateAsync();

        Assert.Empty(await Store.ReadLogsAsync(task.TaskId, 0, 10, Ct));
        Assert.Equal(0, await Store.LastLogLineNoAsync(task.TaskId, Ct));
        Assert.Empty(await Store.ReadLogsAsync(TaskIds.New(Now), 0, 10, Ct));
        Assert.Equal(0, await Store.LastLogLineNoAsync(TaskIds.New(Now), Ct));
    }

    [Fact]
    public async Task AppendLogsAsync_UnknownTask_NothingStored()
    {
        await Store.AppendLogsAsync(TaskIds.New(Now), [Line(1, "orphan")], Ct);

        Assert.Equal(0, RawCount("SELECT COUNT(*) FROM task_logs"));
    }

    // ---------------------------------------------------------------- retention

    private async Task<TaskRecord> FinishedAsync(AttemptOutcome outcome)
    {
        var leased = await LeaseAsync((await CreateAsync(maxAttempts: 1)).TaskId);
        await Store.AppendLogsAsync(leased.TaskId, [Line(1, "out")], Ct);
        await CompleteAsync(leased, outcome, result: new TaskResult(0, "", "", new TaskUsage(1, 1, 1), [], null));
        return await GetAsync(leased.TaskId);
    }

    /// <summary>What a retention sweep does with the rows: list the expired tasks, then delete exactly those.</summary>
    private async Task<IReadOnlyList<string>> ListAndDeleteAsync(DateTimeOffset cutoff, int limit)
    {
        var listed = await Store.ListCompletedBeforeAsync(cutoff, limit, Ct);
        var deleted = await Store.DeleteCompletedAsync(listed, cutoff, Ct);
        Assert.Equal(listed, deleted);
        return deleted;
    }

    [Fact]
    public async Task ListAndDeleteCompleted_Cutoff_OnlyOldTerminalTasksAndTheirRowsRemoved()
    {
        var oldSucceeded = await FinishedAsync(AttemptOutcome.Succeeded);
        var oldDeadLettered = await FinishedAsync(AttemptOutcome.Failed);
        var oldCancelled = await CreateAsync();
        await Store.CancelAsync(oldCancelled.TaskId, Now, Ct);
        var oldQueued = await CreateAsync();
        await Store.AppendLogsAsync(oldQueued.TaskId, [Line(1, "kept")], Ct);
        var oldRunning = await LeaseAsync((await CreateAsync()).TaskId);
        Time.Advance(TimeSpan.FromHours(2));
        var cutoff = Now - TimeSpan.FromHours(1);
        var recent = await FinishedAsync(AttemptOutcome.Succeeded);

        var deleted = await ListAndDeleteAsync(cutoff, 100);

        Assert.Equal(
            new[] { oldSucceeded.TaskId, oldDeadLettered.TaskId, oldCancelled.TaskId }.Order(),
            deleted.Order());
        foreach (var id in deleted)
        {
            Assert.Null(await Store.GetTaskAsync(id, true, Ct));
            Assert.Null(await Store.GetResultAsync(id, Ct));
        }
        foreach (var kept in new[] { oldQueued.TaskId, oldRunning.TaskId, recent.TaskId })
        {
            Assert.NotNull(await Store.GetTaskAsync(kept, false, Ct));
        }
        // No orphan rows: everything left belongs to a task that is still there.
        Assert.Equal(0, RawCount("SELECT COUNT(*) FROM task_logs WHERE task_seq NOT IN (SELECT seq FROM tasks)"));
        Assert.Equal(0, RawCount("SELECT COUNT(*) FROM task_results WHERE task_seq NOT IN (SELECT seq FROM tasks)"));
        Assert.Equal(2, RawCount("SELECT COUNT(*) FROM task_logs"));
        Assert.Equal(1, RawCount("SELECT COUNT(*) FROM task_results"));
        Assert.Equal(["kept"], (await Store.ReadLogsAsync(oldQueued.TaskId, 0, 10, Ct)).Select(l => l.Text));
    }

    [Fact]
    public async Task ListAndDeleteCompleted_Limit_OldestCompletedFirstAndNoMore()
    {
        var first = await FinishedAsync(AttemptOutcome.Succeeded);
        Time.Advance(TimeSpan.FromSeconds(1));
        var second = await FinishedAsync(AttemptOutcome.Succeeded);
        Time.Advance(TimeSpan.FromSeconds(1));
        var third = await FinishedAsync(AttemptOutcome.Succeeded);
        Time.Advance(TimeSpan.FromDays(1));

        var batch1 = await ListAndDeleteAsync(Now, 2);
        var batch2 = await ListAndDeleteAsync(Now, 2);
        var batch3 = await ListAndDeleteAsync(Now, 2);

        Assert.Equal([first.TaskId, second.TaskId], batch1);
        Assert.Equal([third.TaskId], batch2);
        Assert.Empty(batch3);
    }

    [Fact]
    public async Task ListCompletedBeforeAsync_CompletedExactlyAtCutoff_NotListed()
    {
        var done = await FinishedAsync(AttemptOutcome.Succeeded);

        var listed = await Store.ListCompletedBeforeAsync(done.CompletedAt!.Value, 10, Ct);

        Assert.Empty(listed);
    }

    [Fact]
    public async Task ListCompletedBeforeAsync_ExpiredTasks_NothingDeleted()
    {
        // Retention deletes the files between the list and the delete: the list itself must leave every row in place.
        var first = await FinishedAsync(AttemptOutcome.Succeeded);
        var second = await FinishedAsync(AttemptOutcome.Failed);
        Time.Advance(TimeSpan.FromDays(1));

        var listed = await Store.ListCompletedBeforeAsync(Now, 10, Ct);
        var listedAgain = await Store.ListCompletedBeforeAsync(Now, 10, Ct);

        Assert.Equal([first.TaskId, second.TaskId], listed);
        Assert.Equal(listed, listedAgain);
        Assert.Equal(2, RawCount("SELECT COUNT(*) FROM tasks"));
        Assert.Equal(2, RawCount("SELECT COUNT(*) FROM task_logs"));
        Assert.Equal(2, RawCount("SELECT COUNT(*) FROM task_results"));
    }

    [Fact]
    public async Task DeleteCompletedAsync_CandidateRedrivenAfterListing_RowLogsAndResultKept()
    {
        // Regression guard for the two-phase sweep: a dead-lettered task redriven between the list and the delete is live again.
        var deadLettered = await FinishedAsync(AttemptOutcome.Failed);
        Assert.True(deadLettered.DeadLettered);
        var succeeded = await FinishedAsync(AttemptOutcome.Succeeded);
        Time.Advance(TimeSpan.FromDays(1));
        var listed = await Store.ListCompletedBeforeAsync(Now, 10, Ct);
        Assert.Equal([deadLettered.TaskId, succeeded.TaskId], listed);
        Assert.True((await Store.RedriveAsync(deadLettered.TaskId, Now, Ct)).Applied);

        var deleted = await Store.DeleteCompletedAsync(listed, Now, Ct);

        Assert.Equal([succeeded.TaskId], deleted);
        Assert.Null(await Store.GetTaskAsync(succeeded.TaskId, false, Ct));
        Assert.Equal(TaskState.Queued, (await GetAsync(deadLettered.TaskId)).Status);
        Assert.Equal(["out"], (await Store.ReadLogsAsync(deadLettered.TaskId, 0, 10, Ct)).Select(l => l.Text));
        Assert.NotNull(await Store.GetResultAsync(deadLettered.TaskId, Ct));
    }

    [Fact]
    public async Task DeleteCompletedAsync_CompletedExactlyAtCutoff_Kept()
    {
        var done = await FinishedAsync(AttemptOutcome.Succeeded);

        var deleted = await Store.DeleteCompletedAsync([done.TaskId], done.CompletedAt!.Value, Ct);

        Assert.Empty(deleted);
        Assert.NotNull(await Store.GetTaskAsync(done.TaskId, false, Ct));
    }

    [Fact]
    public async Task DeleteCompletedAsync_WaitingRunningOrUnknownIds_NothingDeleted()
    {
        // Only terminal tasks have a completion time, whatever ids the caller hands in.
        var queued = await CreateAsync();
        var running = await LeaseAsync((await CreateAsync()).TaskId);
        Time.Advance(TimeSpan.FromDays(1));

        var deleted = await Store.DeleteCompletedAsync([queued.TaskId, running.TaskId, TaskIds.New(Now)], Now, Ct);

        Assert.Empty(deleted);
        Assert.Equal(2, RawCount("SELECT COUNT(*) FROM tasks"));
    }
}
