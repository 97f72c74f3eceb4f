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

    [Fact]
    public async Task DeleteCompletedBeforeAsync_Cutoff_OnlyOldTerminalTasksAndTheirRowsRemoved()
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

        var deleted = await Store.DeleteCompletedBeforeAsync(cutoff, 100, Ct);

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
    public async Task DeleteCompletedBeforeAsync_Batch_OldestCompletedFirstAndNoMore()
    {
        var first = await FinishedAsync(AttemptOutcome.Succeeded);
        Time.Advance(TimeSpan.FromSeconds(1));
        var second = await FinishedAsync(AttemptOutcome.Succeeded);
        Time.Advance(TimeSpan.FromSeconds(1));
        var third = await FinishedAsync(AttemptOutcome.Succeeded);
        Time.Advance(TimeSpan.FromDays(1));

        var batch1 = await Store.DeleteCompletedBeforeAsync(Now, 2, Ct);
        var batch2 = await Store.DeleteCompletedBeforeAsync(Now, 2, Ct);
        var batch3 = await Store.DeleteCompletedBeforeAsync(Now, 2, Ct);

        Assert.Equal([first.TaskId, second.TaskId], batch1);
        Assert.Equal([third.TaskId], batch2);
        Assert.Empty(batch3);
    }

    [Fact]
    public async Task DeleteCompletedBeforeAsync_CompletedExactlyAtCutoff_Kept()
    {
        var done = await FinishedAsync(AttemptOutcome.Succeeded);

        var deleted = await Store.DeleteCompletedBeforeAsync(done.CompletedAt!.Value, 10, Ct);

        Assert.Empty(deleted);
    }
}
