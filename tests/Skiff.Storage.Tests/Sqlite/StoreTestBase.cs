using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;
using Skiff.Testing;

namespace Skiff.Storage.Tests.Sqlite;

/// <summary>
/// Each test gets its own real SQLite file in its own temp directory (Npgsql's isolation, at the cost of a
/// file create: a few milliseconds), and a fake clock so stored times are exact.
/// </summary>
public abstract class StoreTestBase : IAsyncLifetime
{
    protected static readonly RetryPolicy Retry = new();

    protected StoreTestBase()
    {
        Temp = new TempDirectory();
        StorePath = Temp.Combine("data", "skiff.db");
        Store = SqliteTaskStore.Open(StorePath);
    }

    protected TempDirectory Temp { get; }

    protected string StorePath { get; }

    protected SqliteTaskStore Store { get; set; }

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

    protected DateTimeOffset Now => Time.GetUtcNow();

    protected static CancellationToken Ct => CancellationToken.None;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        Temp.Dispose();
    }

    /// <summary>Closes the store and opens the same file again, as a restart does.</summary>
    protected async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = SqliteTaskStore.Open(StorePath);
    }

    protected NewTask NewTask(string user = "alice", int priority = 0, string? key = null, int maxAttempts = 3, TaskSpec? spec = null)
    {
        var at = Now;
        // Distinct creation times keep "oldest first" assertions unambiguous.
        Time.Advance(TimeSpan.FromMilliseconds(1));
        return new NewTask(TaskIds.New(at), user, (spec ?? new TaskSpec { Command = ["echo", "hi"] }) with { Priority = priority, MaxAttempts = maxAttempts }, at, key);
    }

    protected async Task<TaskRecord> CreateAsync(string user = "alice", int priority = 0, string? key = null, int maxAttempts = 3)
    {
        var outcome = await Store.CreateTaskAsync(NewTask(user, priority, key, maxAttempts), Ct);
        Assert.True(outcome.Created);
        return outcome.Task;
    }

    protected async Task<TaskRecord> LeaseAsync(string taskId, string owner = "worker-1", TimeSpan? leaseFor = null)
    {
        var outcome = await Store.LeaseAsync(taskId, owner, Now, Now + (leaseFor ?? TimeSpan.FromSeconds(30)), Ct);
        Assert.Equal(TransitionResult.Applied, outcome.Result);
        return outcome.Task!;
    }

    protected Task<TransitionOutcome> CompleteAsync(
        TaskRecord leased, AttemptOutcome outcome, string? owner = "worker-1", int? attempt = null,
        bool cancelRequested = false, TaskResult? result = null, int? exitCode = null, string? error = null)
    {
        var decision = AttemptDecision.Decide(outcome, leased.Attempts, leased.Spec.MaxAttempts, cancelRequested, Retry, Now, 0.5, error);
        return CompleteAsync(leased, decision, owner, attempt, result, exitCode, error);
    }

    protected Task<TransitionOutcome> CompleteAsync(
        TaskRecord leased, AttemptDecision decision, string? owner = "worker-1", int? attempt = null,
        TaskResult? result = null, int? exitCode = null, string? error = null) =>
        Store.CompleteAttemptAsync(new AttemptCompletion(leased.TaskId, attempt ?? leased.Attempts, owner, decision, Now, exitCode, error, result), Ct);

    /// <summary>Leases and fails the task until it is dead-lettered.</summary>
    protected async Task<TaskRecord> DeadLetterAsync(TaskRecord task)
    {
        while (true)
        {
            var leased = await LeaseAsync(task.TaskId);
            var ended = await CompleteAsync(leased, AttemptOutcome.Failed, exitCode: 1, error: "boom");
            Assert.True(ended.Applied);
            if (ended.Task!.DeadLettered)
            {
                return ended.Task;
            }
        }
    }

    protected async Task<TaskRecord> GetAsync(string taskId, bool withEvents = false) =>
        await Store.GetTaskAsync(taskId, withEvents, Ct) ?? throw new Xunit.Sdk.XunitException($"task {taskId} not found");

    /// <summary>A value read straight from the file through a connection of our own, bypassing the store.</summary>
    protected long RawCount(string sql) => Convert.ToInt64(RawScalar(sql), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A change made straight to the file behind the store's back (what the store remembers goes stale).</summary>
    protected void RawExecute(string sql) => RawScalar(sql);

    private object? RawScalar(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
