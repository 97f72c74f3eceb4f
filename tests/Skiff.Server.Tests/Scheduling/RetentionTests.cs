using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Skiff.Core.Tasks;
using Skiff.Server.Hosting;
using Skiff.Server.Scheduling;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Scheduling;

/// <summary>The retention job deletes ended tasks with their logs, results and files; waiting and running tasks stay.</summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task Retention_TaskEndedLongerAgo_DeletedWithLogsResultAndFilesWhileQueuedAndRunningStay()
    {
        using var temp = new TempDirectory();
        var release = temp.Combine("release");
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 1, new Dictionary<string, string?>
        {
            ["Skiff:Retention"] = "00:00:01",
            ["Skiff:RetentionInterval"] = "00:00:00.200",
        });
        var finished = await server.SubmitIdAsync(TaskJson.Shell("echo bye; printf x > \"$SKIFF_OUTPUT/out.txt\""));
        await server.WaitForStatusAsync(finished, "succeeded");
        var finishedDirectory = Path.Combine(server.DataDirectory, "tasks", finished);
        Assert.True(Directory.Exists(finishedDirectory), finishedDirectory);
        var running = await server.SubmitIdAsync(TaskJson.Shell("while [ ! -e \"$RELEASE\" ]; do sleep 0.02; done")
            .With("env", new JsonObject { ["RELEASE"] = release }));
        await server.WaitForStatusAsync(running, "running");
        var queued = await server.SubmitIdAsync(TaskJson.Command("true"));

        await Eventually.UntilAsync(async () =>
        {
            using var response = await server.Client.GetAsync($"/tasks/{finished}");
            return response.StatusCode;
        }, status => status == HttpStatusCode.NotFound, SkiffTestServer.DefaultWait, $"retention to delete {finished}", interval: SkiffTestServer.PollInterval);

        foreach (var path in new[] { $"/tasks/{finished}/logs", $"/tasks/{finished}/result", $"/tasks/{finished}/artifacts/out.txt" })
        {
            using var response = await server.Client.GetAsync(path);
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "taskId");
        }
        // The files go first, the rows after them: once the API answers 404 the directory is already gone.
        Assert.False(Directory.Exists(finishedDirectory), finishedDirectory);
        Assert.DoesNotContain(finished, await server.ListAllTaskIdsAsync());
        Assert.Equal("queued", SkiffTestServer.Status(await server.GetTaskAsync(queued)));
        Assert.Equal("running", SkiffTestServer.Status(await server.GetTaskAsync(running)));

        await File.WriteAllTextAsync(release, "");
        await server.WaitForStatusAsync(queued, "succeeded");
    }

    // ---------------------------------------------------------------- the sweep itself, on a real store and data directory

    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    /// <summary>
    /// A store and data directory of its own, a fake clock and the job. Expired tasks are cancelled ones (terminal, with a
    /// completion time), each given a directory with a file in it, as an attempt leaves one.
    /// </summary>
    private sealed class Sweep : IAsyncDisposable
    {
        private readonly TempDirectory _temp = new();

        public Sweep() => Store = SqliteTaskStore.Open(_temp.Combine("data", "skiff.db"));

        public SqliteTaskStore Store { get; }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

        public string DataDirectory => _temp.Combine("data");

        public DateTimeOffset Cutoff => Time.GetUtcNow() - Retention;

        public RetentionJob Job(ITaskStore? store = null) => new(
            store ?? Store, Time, Options.Create(new SkiffOptions { DataDirectory = DataDirectory, Retention = Retention }),
            NullLogger<RetentionJob>.Instance);

        public string TaskDirectory(string taskId) => Path.Combine(DataDirectory, "tasks", taskId);

        /// <summary>A queued task with a directory; cancelled (so terminal) when <paramref name="ended"/>.</summary>
        public async Task<string> TaskAsync(bool ended)
        {
            var now = Time.GetUtcNow();
            Time.Advance(TimeSpan.FromMilliseconds(1));
            var id = TaskIds.New(now);
            Assert.True((await Store.CreateTaskAsync(new NewTask(id, "alice", new TaskSpec { Command = ["true"] }, now, null), CancellationToken.None)).Created);
            var output = Path.Combine(TaskDirectory(id), "1", "output");
            Directory.CreateDirectory(output);
            await File.WriteAllTextAsync(Path.Combine(output, "out.txt"), "x");
            if (ended)
            {
                Assert.Equal(CancelResult.Cancelled, (await Store.CancelAsync(id, now, CancellationToken.None)).Result);
            }
            return id;
        }

        public async Task<bool> RowExistsAsync(string taskId) => await Store.GetTaskAsync(taskId, false, CancellationToken.None) is not null;

        public async ValueTask DisposeAsync()
        {
            await Store.DisposeAsync();
            _temp.Dispose();
        }
    }

    [Fact]
    public async Task SweepAsync_ExpiredAndRecentTasks_ExpiredRowsAndDirectoriesGoneOthersStay()
    {
        await using var sweep = new Sweep();
        string[] expired = [await sweep.TaskAsync(ended: true), await sweep.TaskAsync(ended: true)];
        var oldQueued = await sweep.TaskAsync(ended: false);
        sweep.Time.Advance(2 * Retention);
        var recent = await sweep.TaskAsync(ended: true);

        var deleted = await sweep.Job().SweepAsync(CancellationToken.None);

        Assert.Equal(2, deleted);
        foreach (var id in expired)
        {
            Assert.False(await sweep.RowExistsAsync(id), id);
            Assert.False(Directory.Exists(sweep.TaskDirectory(id)), id);
        }
        foreach (var id in new[] { oldQueued, recent })
        {
            Assert.True(await sweep.RowExistsAsync(id), id);
            Assert.True(Directory.Exists(sweep.TaskDirectory(id)), id);
        }
    }

    [Fact]
    public async Task SweepAsync_AfterCrashBetweenDirectoriesAndRows_DeletesTheRowsLeftBehind()
    {
        // The state a sweep killed after its directory deletes leaves: rows still there, their directories gone.
        await using var sweep = new Sweep();
        string[] expired = [await sweep.TaskAsync(ended: true), await sweep.TaskAsync(ended: true)];
        sweep.Time.Advance(2 * Retention);
        var listed = await sweep.Store.ListCompletedBeforeAsync(sweep.Cutoff, RetentionJob.Batch, CancellationToken.None);
        Assert.Equal(expired, listed);
        foreach (var id in listed)
        {
            Directory.Delete(sweep.TaskDirectory(id), recursive: true);
        }

        var deleted = await sweep.Job().SweepAsync(CancellationToken.None);

        Assert.Equal(2, deleted);
        foreach (var id in expired)
        {
            Assert.False(await sweep.RowExistsAsync(id), id);
        }
        Assert.Empty(await sweep.Store.ListCompletedBeforeAsync(sweep.Cutoff, RetentionJob.Batch, CancellationToken.None));
    }

    [Fact]
    public async Task SweepAsync_CrashRightAfterRowsCommit_NoDirectoryOrphaned()
    {
        // Regression guard: the sweep used to delete the rows first and the directories after, so a process killed in
        // between left directories that nothing referred to and nothing swept. Here the "kill" comes right after the commit.
        await using var sweep = new Sweep();
        string[] expired = [await sweep.TaskAsync(ended: true), await sweep.TaskAsync(ended: true)];
        sweep.Time.Advance(2 * Retention);
        var crashing = InterceptingStore.Wrap(sweep.Store, (name, proceed) => name == nameof(ITaskStore.DeleteCompletedAsync)
            ? CommitThenCrashAsync((Task<IReadOnlyList<string>>)proceed()!)
            : proceed());

        await Assert.ThrowsAsync<SimulatedCrashException>(() => sweep.Job(crashing).SweepAsync(CancellationToken.None));

        foreach (var id in expired)
        {
            Assert.False(await sweep.RowExistsAsync(id), id);
            Assert.False(Directory.Exists(sweep.TaskDirectory(id)), id);
        }

        static async Task<IReadOnlyList<string>> CommitThenCrashAsync(Task<IReadOnlyList<string>> delete)
        {
            await delete;
            throw new SimulatedCrashException();
        }
    }

    [Fact]
    public async Task SweepAsync_FullBatchOfWhichNothingIsDeleted_StopsAfterOnePass()
    {
        // Every candidate redriven between the list and the delete: the same full batch would be listed again and again.
        await using var sweep = new Sweep();
        var lists = 0;
        var nothingDeleted = InterceptingStore.Wrap(sweep.Store, (name, proceed) => name switch
        {
            nameof(ITaskStore.ListCompletedBeforeAsync) => ++lists > 1
                ? throw new InvalidOperationException("the sweep listed the same batch again")
                : Task.FromResult<IReadOnlyList<string>>(
                    Enumerable.Range(0, RetentionJob.Batch).Select(_ => TaskIds.New(sweep.Time.GetUtcNow())).ToList()),
            nameof(ITaskStore.DeleteCompletedAsync) => Task.FromResult<IReadOnlyList<string>>([]),
            _ => proceed(),
        });

        var deleted = await sweep.Job(nothingDeleted).SweepAsync(CancellationToken.None);

        Assert.Equal(0, deleted);
        Assert.Equal(1, lists);
    }

    private sealed class SimulatedCrashException() : Exception("simulated crash");

    /// <summary>Forwards every call to the real store except those <c>intercept</c> answers itself (given the method name and the forwarding call).</summary>
    internal class InterceptingStore : DispatchProxy
    {
        private ITaskStore _inner = null!;
        private Func<string, Func<object?>, object?> _intercept = null!;

        public static ITaskStore Wrap(ITaskStore inner, Func<string, Func<object?>, object?> intercept)
        {
            var proxy = Create<ITaskStore, InterceptingStore>();
            var self = (InterceptingStore)(object)proxy;
            self._inner = inner;
            self._intercept = intercept;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            _intercept(targetMethod!.Name, () => targetMethod.Invoke(_inner, args));
    }
}
