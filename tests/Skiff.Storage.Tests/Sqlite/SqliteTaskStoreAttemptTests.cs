using Skiff.Core.Tasks;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Tests.Sqlite;

public sealed class SqliteTaskStoreAttemptTests : StoreTestBase
{
    private static TaskResult SampleResult() => new(
        0,
        "line 1\nline 2 ⛵\n",
        "warning: x\n",
        new TaskUsage(WallMs: 1_234, CpuMs: 987, PeakMemoryBytes: 64L * 1024 * 1024 * 1024),
        [new TaskArtifact("out/report.csv", 2_048), new TaskArtifact("out/log.txt", 0)],
        "/var/lib/skiff/outputs/t_1");

    // ---------------------------------------------------------------- lease

    [Fact]
    public async Task LeaseAsync_QueuedTask_RunningWithFirstAttemptAndLease()
    {
        var task = await CreateAsync();
        Time.Advance(TimeSpan.FromSeconds(2));
        var until = Now + TimeSpan.FromSeconds(30);

        var outcome = await Store.LeaseAsync(task.TaskId, "worker-1", Now, until, Ct);
        var stored = await GetAsync(task.TaskId, withEvents: true);

        Assert.True(outcome.Applied);
        Assert.Equal(TaskState.Running, outcome.Task!.Status);
        Assert.Equal(1, outcome.Task.Attempts);
        Assert.Equal(TaskState.Running, stored.Status);
        Assert.Equal(1, stored.Attempts);
        Assert.Equal("worker-1", stored.LeaseOwner);
        Assert.Equal(until, stored.LeaseExpiresAt);
        Assert.Equal(Now, stored.StartedAt);
        Assert.Equal([TaskState.Queued, TaskState.Running], stored.Events.Select(e => e.Status));
        Assert.Equal(1, stored.Events[1].Attempt);
        Assert.Equal(Now, stored.Events[1].At);
        Assert.Contains("worker-1", stored.Events[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LeaseAsync_AlreadyRunning_ConflictAndUnchanged()
    {
        var task = await CreateAsync();
        var first = await LeaseAsync(task.TaskId, "worker-1");

        var second = await Store.LeaseAsync(task.TaskId, "worker-2", Now, Now + TimeSpan.FromMinutes(1), Ct);

        Assert.Equal(TransitionResult.Conflict, second.Result);
        Assert.False(second.Applied);
        Assert.Equal("worker-1", second.Task!.LeaseOwner);
        var stored = await GetAsync(task.TaskId, withEvents: true);
        Assert.Equal(1, stored.Attempts);
        Assert.Equal("worker-1", stored.LeaseOwner);
        Assert.Equal(first.LeaseExpiresAt, stored.LeaseExpiresAt);
        Assert.Equal(2, stored.Events.Count);
    }

    [Fact]
    public async Task LeaseAsync_UnknownId_NotFound()
    {
        var outcome = await Store.LeaseAsync(TaskIds.New(Now), "worker-1", Now, Now + TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(TransitionResult.NotFound, outcome.Result);
        Assert.Null(outcome.Task);
    }

    [Fact]
    public async Task LeaseAsync_TerminalTask_Conflict()
    {
        var task = await CreateAsync();
        await Store.CancelAsync(task.TaskId, Now, Ct);

        var outcome = await Store.LeaseAsync(task.TaskId, "worker-1", Now, Now + TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(TransitionResult.Conflict, outcome.Result);
        Assert.Equal(TaskState.Cancelled, (await GetAsync(task.TaskId)).Status);
    }

    [Fact]
    public async Task ExtendLeasesAsync_OwnersRunningTasks_OnlyThoseExtended()
    {
        var mine = await LeaseAsync((await CreateAsync()).TaskId, "worker-1");
        var theirs = await LeaseAsync((await CreateAsync()).TaskId, "worker-2");
        var queued = await CreateAsync();
        var until = Now + TimeSpan.FromMinutes(5);

        await Store.ExtendLeasesAsync([mine.TaskId, theirs.TaskId, queued.TaskId], "worker-1", until, Ct);

        Assert.Equal(until, (await GetAsync(mine.TaskId)).LeaseExpiresAt);
        Assert.Equal(theirs.LeaseExpiresAt, (await GetAsync(theirs.TaskId)).LeaseExpiresAt);
        Assert.Null((await GetAsync(queued.TaskId)).LeaseExpiresAt);
    }

    // ---------------------------------------------------------------- complete

    [Fact]
    public async Task CompleteAttemptAsync_Success_SucceededWithResultStored()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        Time.Advance(TimeSpan.FromSeconds(3));
        var result = SampleResult();

        var outcome = await CompleteAsync(leased, AttemptOutcome.Succeeded, result: result, exitCode: 0);
        await ReopenAsync();
        var stored = await GetAsync(leased.TaskId, withEvents: true);
        var storedResult = await Store.GetResultAsync(leased.TaskId, Ct);

        Assert.True(outcome.Applied);
        Assert.Equal(TaskState.Succeeded, outcome.Task!.Status);
        Assert.Equal(TaskState.Succeeded, stored.Status);
        Assert.Equal(Now, stored.CompletedAt);
        Assert.Equal(3_000, stored.DurationMs);
        Assert.Equal(0, stored.ExitCode);
        Assert.Null(stored.LeaseOwner);
        Assert.Null(stored.LeaseExpiresAt);
        Assert.False(stored.DeadLettered);
        Assert.Equal([TaskState.Queued, TaskState.Running, TaskState.Succeeded], stored.Events.Select(e => e.Status));
        Assert.NotNull(storedResult);
        Assert.Equal(result.ExitCode, storedResult.ExitCode);
        Assert.Equal(result.StdoutTail, storedResult.StdoutTail);
        Assert.Equal(result.StderrTail, storedResult.StderrTail);
        Assert.Equal(result.Usage, storedResult.Usage);
        Assert.Equal(result.Artifacts, storedResult.Artifacts);
        Assert.Equal(result.OutputDirectory, storedResult.OutputDirectory);
    }

    [Fact]
    public async Task GetResultAsync_NoResultRecorded_Null()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        await CompleteAsync(leased, AttemptOutcome.Succeeded);

        Assert.Null(await Store.GetResultAsync(leased.TaskId, Ct));
        Assert.Null(await Store.GetResultAsync(TaskIds.New(Now), Ct));
    }

    [Fact]
    public async Task CompleteAttemptAsync_WrongAttempt_ConflictAndNothingChanges()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);

        var stale = await CompleteAsync(leased, AttemptOutcome.Succeeded, attempt: leased.Attempts + 1, result: SampleResult());

        Assert.Equal(TransitionResult.Conflict, stale.Result);
        await AssertStillRunningAsync(leased);
    }

    [Fact]
    public async Task CompleteAttemptAsync_WrongOwner_ConflictAndNothingChanges()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId, "worker-1");

        var stale = await CompleteAsync(leased, AttemptOutcome.Failed, owner: "worker-2", result: SampleResult(), error: "x");

        Assert.Equal(TransitionResult.Conflict, stale.Result);
        await AssertStillRunningAsync(leased);
    }

    [Fact]
    public async Task CompleteAttemptAsync_PreviousAttemptAfterRelease_Conflict()
    {
        // Worker 1 lost its lease (lease expired → requeued), worker 2 took attempt 2; worker 1's late report is refused.
        var first = await LeaseAsync((await CreateAsync()).TaskId, "worker-1");
        Assert.True((await CompleteAsync(first, AttemptOutcome.LeaseExpired, owner: null)).Applied);
        var second = await LeaseAsync(first.TaskId, "worker-2");

        var late = await CompleteAsync(first, AttemptOutcome.Succeeded, owner: "worker-1");

        Assert.Equal(TransitionResult.Conflict, late.Result);
        await AssertStillRunningAsync(second);
    }

    [Fact]
    public async Task CompleteAttemptAsync_Twice_SecondConflict()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        Assert.True((await CompleteAsync(leased, AttemptOutcome.Succeeded)).Applied);

        var again = await CompleteAsync(leased, AttemptOutcome.Failed, error: "late");

        Assert.Equal(TransitionResult.Conflict, again.Result);
        var stored = await GetAsync(leased.TaskId);
        Assert.Equal(TaskState.Succeeded, stored.Status);
        Assert.Null(stored.Error);
    }

    [Fact]
    public async Task CompleteAttemptAsync_UnknownTask_NotFound()
    {
        var ghost = new TaskRecord { TaskId = TaskIds.New(Now), UserId = "alice", Spec = new TaskSpec { Command = ["x"] }, Attempts = 1 };

        var outcome = await CompleteAsync(ghost, AttemptOutcome.Succeeded);

        Assert.Equal(TransitionResult.NotFound, outcome.Result);
    }

    [Fact]
    public async Task CompleteAttemptAsync_NextStateNotReachableFromRunning_Throws()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            CompleteAsync(leased, new AttemptDecision(TaskState.Running, false, null, "nonsense")));

        await AssertStillRunningAsync(leased);
    }

    [Fact]
    public async Task CompleteAttemptAsync_FailureWithAttemptsLeft_RetryingWithNotBefore()
    {
        var leased = await LeaseAsync((await CreateAsync(maxAttempts: 3)).TaskId);

        var outcome = await CompleteAsync(leased, AttemptOutcome.Failed, exitCode: 2, error: "exit 2");
        var stored = await GetAsync(leased.TaskId, withEvents: true);

        Assert.True(outcome.Applied);
        var expectedNotBefore = Now + Retry.Delay(2, 0.5);
        Assert.Equal(TaskState.Retrying, stored.Status);
        Assert.Equal(expectedNotBefore, stored.NotBefore);
        Assert.Equal(expectedNotBefore, stored.ReadyAt);
        Assert.Null(stored.CompletedAt);
        Assert.Null(stored.LeaseOwner);
        Assert.Equal(1, stored.Attempts);
        Assert.Equal(2, stored.ExitCode);
        Assert.Equal("exit 2", stored.Error);
        Assert.False(stored.DeadLettered);
        Assert.Equal(TaskState.Retrying, stored.Events[^1].Status);

        var retried = await LeaseAsync(leased.TaskId);
        Assert.Equal(2, retried.Attempts);
        Assert.Null((await GetAsync(leased.TaskId)).NotBefore);
        Assert.Equal(leased.StartedAt, retried.StartedAt); // the first start is kept across attempts
    }

    [Fact]
    public async Task CompleteAttemptAsync_LeaseExpired_QueuedReadyNowAttemptKept()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        Time.Advance(TimeSpan.FromMinutes(1));

        await CompleteAsync(leased, AttemptOutcome.LeaseExpired, owner: null);
        var stored = await GetAsync(leased.TaskId);

        Assert.Equal(TaskState.Queued, stored.Status);
        Assert.Equal(1, stored.Attempts);
        Assert.Equal(Now, stored.ReadyAt);
        Assert.Null(stored.NotBefore);
        Assert.Null(stored.LeaseOwner);
    }

    [Fact]
    public async Task CompleteAttemptAsync_Interrupted_QueuedWithAttemptRefunded()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);

        await CompleteAsync(leased, AttemptOutcome.Interrupted);
        var stored = await GetAsync(leased.TaskId);

        Assert.Equal(TaskState.Queued, stored.Status);
        Assert.Equal(0, stored.Attempts);
        Assert.Equal(1, (await LeaseAsync(leased.TaskId)).Attempts);
    }

    [Fact]
    public async Task CompleteAttemptAsync_RetryDecidedButCancelRequestedMeanwhile_Cancelled()
    {
        // The worker decided before the cancel reached the store; the store must not lose the cancel to a retry.
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        await Store.CancelAsync(leased.TaskId, Now, Ct);

        var outcome = await CompleteAsync(leased, AttemptOutcome.Failed, cancelRequested: false, error: "boom");

        Assert.True(outcome.Applied);
        Assert.Equal(TaskState.Cancelled, outcome.Task!.Status);
        var stored = await GetAsync(leased.TaskId, withEvents: true);
        Assert.Equal(TaskState.Cancelled, stored.Status);
        Assert.Equal("cancelled by request", stored.Events[^1].Reason);
    }

    [Fact]
    public async Task LeaseAsync_RowChangedBehindTheStore_DecidedOnTheStoredRow()
    {
        // The store remembers the rows it wrote; the write checks the stored row first, so a change it did not
        // make (here: straight to the file) is seen, not overwritten.
        var task = await CreateAsync();
        RawExecute($"UPDATE tasks SET status = {(int)TaskState.Cancelled}, completed_at = 1 WHERE id = '{task.TaskId}'");

        var outcome = await Store.LeaseAsync(task.TaskId, "worker-1", Now, Now.AddMinutes(1), Ct);

        Assert.Equal(TransitionResult.Conflict, outcome.Result);
        Assert.Equal(TaskState.Cancelled, outcome.Task!.Status);
        Assert.Equal(TaskState.Cancelled, (await GetAsync(task.TaskId)).Status);
    }

    [Fact]
    public async Task CompleteAttemptAsync_CancelFlagSetBehindTheStore_CancelWins()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        RawExecute($"UPDATE tasks SET cancel_requested = 1 WHERE id = '{leased.TaskId}'");

        var outcome = await CompleteAsync(leased, AttemptOutcome.Failed, error: "boom");

        Assert.True(outcome.Applied);
        Assert.Equal(TaskState.Cancelled, outcome.Task!.Status);
        Assert.Equal(TaskState.Cancelled, (await GetAsync(leased.TaskId)).Status);
    }

    [Fact]
    public async Task LeaseThenComplete_AfterReopen_SameOutcomesFromTheStoredRows()
    {
        // Nothing remembered after a restart: each transition starts from the row as read.
        var task = await CreateAsync();
        await ReopenAsync();

        var leased = await LeaseAsync(task.TaskId);
        await ReopenAsync();
        var ended = await CompleteAsync(leased, AttemptOutcome.Succeeded);

        Assert.True(ended.Applied);
        Assert.Equal(TaskState.Succeeded, ended.Task!.Status);
        Assert.Equal(task.Spec.Command, ended.Task.Spec.Command);
        Assert.Equal(1, ended.Task.Attempts);
    }

    [Fact]
    public async Task CompleteAttemptAsync_SucceededWhileCancelRequested_SuccessKept()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        await Store.CancelAsync(leased.TaskId, Now, Ct);

        var outcome = await CompleteAsync(leased, AttemptOutcome.Succeeded);

        Assert.True(outcome.Applied);
        Assert.Equal(TaskState.Succeeded, (await GetAsync(leased.TaskId)).Status);
    }

    [Fact]
    public async Task CompleteAttemptAsync_StaleAttemptOrOwnerWhileCancelRequested_RefusedAndNothingChanged()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        await Store.CancelAsync(leased.TaskId, Now, Ct);

        var otherAttempt = await CompleteAsync(leased, AttemptOutcome.Failed, attempt: leased.Attempts + 1, error: "stale");
        var otherOwner = await CompleteAsync(leased, AttemptOutcome.Failed, owner: "worker-2", error: "stale");
        var stored = await GetAsync(leased.TaskId);

        Assert.Equal(TransitionResult.Conflict, otherAttempt.Result);
        Assert.Equal(TransitionResult.Conflict, otherOwner.Result);
        Assert.Equal(TaskState.Running, stored.Status);
        Assert.True(stored.CancelRequested);
    }

    // ---------------------------------------------------------------- dead letter and redrive

    [Theory]
    [InlineData(AttemptOutcome.Failed, TaskState.Failed)]
    [InlineData(AttemptOutcome.TimedOut, TaskState.TimedOut)]
    [InlineData(AttemptOutcome.LeaseExpired, TaskState.Failed)]
    public async Task CompleteAttemptAsync_FinalAttemptFails_DeadLetteredAndListed(AttemptOutcome outcome, TaskState final)
    {
        var task = await CreateAsync(maxAttempts: 2);
        var first = await LeaseAsync(task.TaskId);
        await CompleteAsync(first, AttemptOutcome.Failed, error: "first");
        Time.Advance(TimeSpan.FromSeconds(5));
        var last = await LeaseAsync(task.TaskId);

        var ended = await CompleteAsync(last, outcome, owner: outcome == AttemptOutcome.LeaseExpired ? null : "worker-1", error: "last");
        var stored = await GetAsync(task.TaskId, withEvents: true);
        var page = await Store.ListDeadLetteredAsync(null, null, 10, Ct);

        Assert.True(ended.Applied);
        Assert.Equal(final, stored.Status);
        Assert.True(stored.DeadLettered);
        Assert.Equal(Now, stored.CompletedAt);
        Assert.Equal(2, stored.Attempts);
        Assert.Equal("last", stored.Error);
        Assert.Equal(final, stored.Events[^1].Status);
        Assert.Equal(task.TaskId, Assert.Single(page.Items).TaskId);
        Assert.Equal(1, (await Store.CountAsync(Ct)).DeadLettered);
    }

    [Fact]
    public async Task ListDeadLetteredAsync_SeveralTasks_OldestFirstPagedWithCursor()
    {
        var ids = new string[5];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = (await CreateAsync(user: i % 2 == 0 ? "alice" : "bob", maxAttempts: 1)).TaskId;
            await CreateAsync(); // never dead-lettered: must not appear
        }
        foreach (var id in ids)
        {
            await DeadLetterAsync(await GetAsync(id));
        }

        var first = await Store.ListDeadLetteredAsync(null, null, 2, Ct);
        var second = await Store.ListDeadLetteredAsync(null, first.NextCursor, 2, Ct);
        var third = await Store.ListDeadLetteredAsync(null, second.NextCursor, 2, Ct);
        var aliceOnly = await Store.ListDeadLetteredAsync("alice", null, 10, Ct);

        Assert.Equal(ids[..2], first.Items.Select(t => t.TaskId));
        Assert.Equal(ids[2..4], second.Items.Select(t => t.TaskId));
        Assert.Equal(ids[4..], third.Items.Select(t => t.TaskId));
        Assert.NotNull(first.NextCursor);
        Assert.NotNull(second.NextCursor);
        Assert.Null(third.NextCursor);
        Assert.Equal([ids[0], ids[2], ids[4]], aliceOnly.Items.Select(t => t.TaskId));
        Assert.All(aliceOnly.Items, t => Assert.True(t.DeadLettered));
    }

    [Fact]
    public async Task ListDeadLetteredAsync_ExactlyOnePageFull_NoNextCursor()
    {
        for (var i = 0; i < 3; i++)
        {
            await DeadLetterAsync(await CreateAsync(maxAttempts: 1));
        }

        var page = await Store.ListDeadLetteredAsync(null, null, 3, Ct);

        Assert.Equal(3, page.Items.Count);
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task RedriveAsync_DeadLettered_QueuedWithFreshAttempts()
    {
        var dead = await DeadLetterAsync(await CreateAsync(maxAttempts: 2));
        Time.Advance(TimeSpan.FromMinutes(10));

        var outcome = await Store.RedriveAsync(dead.TaskId, Now, Ct);
        var stored = await GetAsync(dead.TaskId, withEvents: true);

        Assert.True(outcome.Applied);
        Assert.Equal(TaskState.Queued, stored.Status);
        Assert.Equal(0, stored.Attempts);
        Assert.False(stored.DeadLettered);
        Assert.Null(stored.CompletedAt);
        Assert.Null(stored.Error);
        Assert.Null(stored.ExitCode);
        Assert.Equal(Now, stored.ReadyAt);
        Assert.Equal(TaskState.Queued, stored.Events[^1].Status);
        Assert.Empty((await Store.ListDeadLetteredAsync(null, null, 10, Ct)).Items);
        Assert.Equal(0, (await Store.CountAsync(Ct)).DeadLettered);
        Assert.Contains(await Store.LoadWaitingAsync(Ct), t => t.TaskId == dead.TaskId);
        Assert.Equal(1, (await LeaseAsync(dead.TaskId)).Attempts);
    }

    [Fact]
    public async Task RedriveAsync_QueuedTask_Conflict()
    {
        var task = await CreateAsync();

        var outcome = await Store.RedriveAsync(task.TaskId, Now, Ct);

        Assert.Equal(TransitionResult.Conflict, outcome.Result);
        Assert.Equal(TaskState.Queued, (await GetAsync(task.TaskId)).Status);
    }

    [Fact]
    public async Task RedriveAsync_FailedButNotDeadLettered_Conflict()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        await CompleteAsync(leased, new AttemptDecision(TaskState.Failed, false, null, "failed, not retried"), error: "x");

        var outcome = await Store.RedriveAsync(leased.TaskId, Now, Ct);

        Assert.Equal(TransitionResult.Conflict, outcome.Result);
        var stored = await GetAsync(leased.TaskId);
        Assert.Equal(TaskState.Failed, stored.Status);
        Assert.Equal(1, stored.Attempts);
    }

    [Fact]
    public async Task RedriveAsync_Twice_SecondConflict()
    {
        var dead = await DeadLetterAsync(await CreateAsync(maxAttempts: 1));
        Assert.True((await Store.RedriveAsync(dead.TaskId, Now, Ct)).Applied);

        Assert.Equal(TransitionResult.Conflict, (await Store.RedriveAsync(dead.TaskId, Now, Ct)).Result);
    }

    [Fact]
    public async Task RedriveAsync_UnknownId_NotFound()
    {
        Assert.Equal(TransitionResult.NotFound, (await Store.RedriveAsync(TaskIds.New(Now), Now, Ct)).Result);
    }

    // ---------------------------------------------------------------- cancel

    [Fact]
    public async Task CancelAsync_Queued_Cancelled()
    {
        var task = await CreateAsync();
        Time.Advance(TimeSpan.FromSeconds(1));

        var outcome = await Store.CancelAsync(task.TaskId, Now, Ct);
        var stored = await GetAsync(task.TaskId, withEvents: true);

        Assert.Equal(CancelResult.Cancelled, outcome.Result);
        Assert.Equal(TaskState.Cancelled, outcome.Task!.Status);
        Assert.Equal(TaskState.Cancelled, stored.Status);
        Assert.Equal(Now, stored.CompletedAt);
        Assert.Equal(TaskState.Cancelled, stored.Events[^1].Status);
        Assert.DoesNotContain(await Store.LoadWaitingAsync(Ct), t => t.TaskId == task.TaskId);
    }

    [Fact]
    public async Task CancelAsync_Retrying_CancelledAndBackoffCleared()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        await CompleteAsync(leased, AttemptOutcome.Failed, error: "x");

        var outcome = await Store.CancelAsync(leased.TaskId, Now, Ct);
        var stored = await GetAsync(leased.TaskId);

        Assert.Equal(CancelResult.Cancelled, outcome.Result);
        Assert.Equal(TaskState.Cancelled, stored.Status);
        Assert.Null(stored.NotBefore);
    }

    [Fact]
    public async Task CancelAsync_Running_FlaggedForTheWorker()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);

        var outcome = await Store.CancelAsync(leased.TaskId, Now, Ct);
        var stored = await GetAsync(leased.TaskId);

        Assert.Equal(CancelResult.CancelRequested, outcome.Result);
        Assert.True(outcome.Task!.CancelRequested);
        Assert.Equal(TaskState.Running, stored.Status);
        Assert.True(stored.CancelRequested);
        Assert.Null(stored.CompletedAt);

        // The worker sees the flag and ends the attempt as cancelled.
        var ended = await CompleteAsync(leased, AttemptOutcome.Cancelled, cancelRequested: stored.CancelRequested);
        Assert.True(ended.Applied);
        Assert.Equal(TaskState.Cancelled, (await GetAsync(leased.TaskId)).Status);
    }

    [Fact]
    public async Task CancelAsync_Terminal_AlreadyTerminalAndUnchanged()
    {
        var leased = await LeaseAsync((await CreateAsync()).TaskId);
        await CompleteAsync(leased, AttemptOutcome.Succeeded);
        var before = await GetAsync(leased.TaskId, withEvents: true);
        Time.Advance(TimeSpan.FromSeconds(1));

        var outcome = await Store.CancelAsync(leased.TaskId, Now, Ct);
        var after = await GetAsync(leased.TaskId, withEvents: true);

        Assert.Equal(CancelResult.AlreadyTerminal, outcome.Result);
        Assert.Equal(TaskState.Succeeded, after.Status);
        Assert.Equal(before.CompletedAt, after.CompletedAt);
        Assert.False(after.CancelRequested);
        Assert.Equal(before.Events.Count, after.Events.Count);
    }

    [Fact]
    public async Task CancelAsync_UnknownId_NotFound()
    {
        var outcome = await Store.CancelAsync(TaskIds.New(Now), Now, Ct);

        Assert.Equal(CancelResult.NotFound, outcome.Result);
        Assert.Null(outcome.Task);
    }

    private async Task AssertStillRunningAsync(TaskRecord leased)
    {
        var stored = await GetAsync(leased.TaskId, withEvents: true);
        Assert.Equal(TaskState.Running, stored.Status);
        Assert.Equal(leased.Attempts, stored.Attempts);
        Assert.Equal(leased.LeaseOwner, stored.LeaseOwner);
        Assert.Equal(leased.LeaseExpiresAt, stored.LeaseExpiresAt);
        Assert.Null(stored.CompletedAt);
        Assert.Null(stored.Error);
        Assert.Equal(TaskState.Running, stored.Events[^1].Status);
        Assert.Null(await Store.GetResultAsync(leased.TaskId, Ct));
    }
}
