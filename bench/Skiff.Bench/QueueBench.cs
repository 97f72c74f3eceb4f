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

        var writerCpu0 = ThreadCpuMs("skiff-store-wri");
        var processCpu0 = Environment.CpuUsage.TotalTime;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, pipelines).Select(_ => Task.Run(() => Cycle(store, spec, retry, time, perPipeline))));
        watch.Stop();
        var tasks = perPipeline * pipelines;
        var rate = tasks / watch.Elapsed.TotalSeconds;
        // CPU per task moves far less than the rate when other work shares the machine: compare builds by it.
        var writerUs = (ThreadCpuMs("skiff-store-wri") - writerCpu0) * 1000 / tasks;
        var processUs = (Environment.CpuUsage.TotalTime - processCpu0).TotalMicroseconds / tasks;
        Console.WriteLine($"queue: {rate:0} tasks/s ({watch.Elapsed.TotalSeconds:0.00} s); CPU per task: writer thread {writerUs:0.0} µs, whole process {processUs:0.0} µs");
        return
        [
            new Figure("queue core: enqueue+lease+complete, durable SQLite", rate, "tasks/s", "≥ 30,000 tasks/s"),
            new Figure("queue core: store writer thread CPU per task", writerUs, "µs", ""),
            new Figure("queue core: process CPU per task (writer, callers, GC)", processUs, "µs", ""),
        ];
    }

    /// <summary>User + system time of this process's thread named <paramref name="comm"/> (as proc(5) shows it, 15 characters).</summary>
    private static double ThreadCpuMs(string comm)
    {
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd() != comm)
            {
                continue;
            }
            var text = File.ReadAllText(Path.Combine(task, "stat"));
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 of proc(5); utime and stime are fields 14 and 15, in USER_HZ = 100 ticks per second.
            return fields.Skip(11).Take(2).Sum(f => long.Parse(f, System.Globalization.CultureInfo.InvariantCulture)) * 10.0;
        }
        throw new InvalidOperationException($"no thread named {comm}");
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
