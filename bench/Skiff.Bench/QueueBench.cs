using System.Diagnostics;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;

namespace Skiff.Bench;

/// <summary>
/// Queue core: enqueue + lease + complete of no-op tasks, durable on SQLite (WAL, every call awaited until
/// its transaction committed). Many producers/consumers in flight, as a busy server has, so group commit
/// shares each commit among them.
/// </summary>
internal static class QueueBench
{
    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchOptions options)
    {
        using var dir = new TempDir();
        await using var store = SqliteTaskStore.Open(Path.Combine(dir.Path, "skiff.db"));
        var spec = new TaskSpec { Command = ["true"] };
        var retry = new RetryPolicy();
        var total = options.Tasks;
        var pipelines = int.Parse(Environment.GetEnvironmentVariable("SKIFF_BENCH_PIPELINES") ?? "256", System.Globalization.CultureInfo.InvariantCulture);
        var perPipeline = total / pipelines;
        var time = TimeProvider.System;
        Console.WriteLine($"queue: {perPipeline * pipelines} tasks through {pipelines} concurrent enqueue→lease→complete pipelines");

        // Warm up JIT and the statement caches.
        await Cycle(store, spec, retry, time, 200);

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, pipelines).Select(_ => Task.Run(() => Cycle(store, spec, retry, time, perPipeline))));
        watch.Stop();
        var rate = perPipeline * pipelines / watch.Elapsed.TotalSeconds;
        Console.WriteLine($"queue: {rate:0} tasks/s ({watch.Elapsed.TotalSeconds:0.00} s)");
        return [new Figure("queue core: enqueue+lease+complete, durable SQLite", rate, "tasks/s", "≥ 30,000 tasks/s")];
    }

    private static async Task Cycle(ITaskStore store, TaskSpec spec, RetryPolicy retry, TimeProvider time, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var now = time.GetUtcNow();
            var created = await store.CreateTaskAsync(new NewTask(TaskIds.New(now), "u_bench", spec, now, null), CancellationToken.None);
            var lease = await store.LeaseAsync(created.Task.TaskId, "bench", now, now.AddMinutes(15), CancellationToken.None);
            var decision = AttemptDecision.Decide(AttemptOutcome.Succeeded, 1, 3, false, retry, now, 0, null);
            var done = await store.CompleteAttemptAsync(new AttemptCompletion(created.Task.TaskId, lease.Task!.Attempts, "bench", decision, time.GetUtcNow(), 0, null, null), CancellationToken.None);
            if (!done.Applied)
            {
                throw new InvalidOperationException("completion refused");
            }
        }
    }
}
