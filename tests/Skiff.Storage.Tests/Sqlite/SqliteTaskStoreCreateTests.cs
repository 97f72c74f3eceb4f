using Skiff.Core.Tasks;

namespace Skiff.Storage.Tests.Sqlite;

public sealed class SqliteTaskStoreCreateTests : StoreTestBase
{
    private static void AssertSameSpec(TaskSpec expected, TaskSpec actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Command, actual.Command);
        Assert.Equal(expected.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Env.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Env.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Image, actual.Image);
        Assert.Equal(expected.Priority, actual.Priority);
        Assert.Equal(expected.TimeoutSeconds, actual.TimeoutSeconds);
        Assert.Equal(expected.Cpu, actual.Cpu);
        Assert.Equal(expected.MemoryMb, actual.MemoryMb);
        Assert.Equal(expected.MaxAttempts, actual.MaxAttempts);
        Assert.Equal(expected.Network, actual.Network);
    }

    [Fact]
    public async Task CreateTaskAsync_CommandSpec_GetReturnsSpecAndFields()
    {
        var spec = new TaskSpec
        {
            Command = ["sh", "-c", "echo \"héllo\" && exit 3"],
            Image = "alpine:3.20",
            TimeoutSeconds = 42,
            Cpu = 512,
            MemoryMb = 1024,
            Network = "host",
            Env = new Dictionary<string, string> { ["A"] = "1", ["B"] = "two words" },
            Metadata = new Dictionary<string, string> { ["team"] = "data", ["emoji"] = "⛵" },
        };
        var task = NewTask(user: "bob", priority: 7, maxAttempts: 5, spec: spec);

        var outcome = await Store.CreateTaskAsync(task, Ct);
        await ReopenAsync();
        var stored = await GetAsync(task.TaskId, withEvents: true);

        Assert.True(outcome.Created);
        Assert.Equal(task.TaskId, outcome.Task.TaskId);
        Assert.Equal(task.TaskId, stored.TaskId);
        Assert.Equal("bob", stored.UserId);
        AssertSameSpec(task.Spec, stored.Spec);
        Assert.Equal(7, stored.Spec.Priority);
        Assert.Equal(5, stored.Spec.MaxAttempts);
        Assert.Equal(TaskState.Queued, stored.Status);
        Assert.Equal(0, stored.Attempts);
        Assert.False(stored.DeadLettered);
        Assert.False(stored.CancelRequested);
        Assert.Equal(task.CreatedAt, stored.CreatedAt);
        Assert.Equal(task.CreatedAt, stored.ReadyAt);
        Assert.Null(stored.NotBefore);
        Assert.Null(stored.StartedAt);
        Assert.Null(stored.CompletedAt);
        Assert.Null(stored.ExitCode);
        Assert.Null(stored.Error);
        Assert.Null(stored.LeaseOwner);
        Assert.Null(stored.LeaseExpiresAt);
        var submitted = Assert.Single(stored.Events);
        Assert.Equal(TaskState.Queued, submitted.Status);
        Assert.Equal(0, submitted.Attempt);
        Assert.Equal(task.CreatedAt, submitted.At);
    }

    [Fact]
    public async Task CreateTaskAsync_TypeSpecWithParameters_RoundTrips()
    {
        var spec = new TaskSpec
        {
            Type = WorkloadTypes.NetworkTest,
            Parameters = new Dictionary<string, string> { ["host"] = "example.internal", ["port"] = "443" },
        };
        var task = NewTask(spec: spec);

        await Store.CreateTaskAsync(task, Ct);
        var stored = await GetAsync(task.TaskId);

        AssertSameSpec(task.Spec, stored.Spec);
        Assert.Null(stored.Spec.Command);
    }

    [Fact]
    public async Task GetTaskAsync_WithoutEvents_EventsEmpty()
    {
        var task = await CreateAsync();

        var stored = await GetAsync(task.TaskId, withEvents: false);

        Assert.Empty(stored.Events);
    }

    [Fact]
    public async Task GetTaskAsync_UnknownId_Null()
    {
        await CreateAsync();

        Assert.Null(await Store.GetTaskAsync(TaskIds.New(Now), true, Ct));
    }

    [Fact]
    public async Task CreateTaskAsync_SameUserSameIdempotencyKey_ReturnsTheExistingTask()
    {
        var first = await Store.CreateTaskAsync(NewTask(user: "alice", key: "order-17"), Ct);
        var retry = NewTask(user: "alice", priority: 9, key: "order-17");

        var second = await Store.CreateTaskAsync(retry, Ct);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.Task.TaskId, second.Task.TaskId);
        Assert.Equal(0, second.Task.Spec.Priority); // the original spec, not the retry's
        Assert.Null(await Store.GetTaskAsync(retry.TaskId, false, Ct));
        Assert.Equal(1, RawCount("SELECT COUNT(*) FROM tasks"));
    }

    [Fact]
    public async Task CreateTaskAsync_SameKeyAfterTheTaskMoved_ReturnsItsCurrentState()
    {
        var first = await Store.CreateTaskAsync(NewTask(key: "k"), Ct);
        await LeaseAsync(first.Task.TaskId);

        var again = await Store.CreateTaskAsync(NewTask(key: "k"), Ct);

        Assert.False(again.Created);
        Assert.Equal(TaskState.Running, again.Task.Status);
        Assert.Equal(1, again.Task.Attempts);
    }

    [Fact]
    public async Task CreateTaskAsync_SameKeyDifferentUsers_DifferentTasks()
    {
        var alice = await Store.CreateTaskAsync(NewTask(user: "alice", key: "nightly"), Ct);
        var bob = await Store.CreateTaskAsync(NewTask(user: "bob", key: "nightly"), Ct);

        Assert.True(alice.Created);
        Assert.True(bob.Created);
        Assert.NotEqual(alice.Task.TaskId, bob.Task.TaskId);
        Assert.Equal("bob", (await GetAsync(bob.Task.TaskId)).UserId);
    }

    [Fact]
    public async Task CreateTaskAsync_NoIdempotencyKey_EveryCallCreates()
    {
        var first = await Store.CreateTaskAsync(NewTask(), Ct);
        var second = await Store.CreateTaskAsync(NewTask(), Ct);

        Assert.True(first.Created);
        Assert.True(second.Created);
        Assert.Equal(2, RawCount("SELECT COUNT(*) FROM tasks"));
    }

    [Fact]
    public async Task CreateTaskAsync_SameKeyConcurrently_ExactlyOneCreated()
    {
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Store.CreateTaskAsync(NewTask(key: "burst"), Ct)));

        Assert.Single(outcomes, o => o.Created);
        Assert.Single(outcomes.Select(o => o.Task.TaskId).Distinct());
        Assert.Equal(1, RawCount("SELECT COUNT(*) FROM tasks"));
    }

    [Fact]
    public async Task CreateTaskAsync_CancelledToken_NotWritten()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var task = NewTask();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.CreateTaskAsync(task, cancelled.Token));

        Assert.Null(await Store.GetTaskAsync(task.TaskId, false, Ct));
    }
}
