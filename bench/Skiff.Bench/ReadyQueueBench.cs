using System.Diagnostics;
using Skiff.Core.Queue;

namespace Skiff.Bench;

/// <summary>
/// The in-memory ready index alone (no store, no server): the cost per add, remove (cancel) and take with a
/// large backlog spread over priorities and users, the shape the dispatcher sees when a queue holds millions.
/// </summary>
internal static class ReadyQueueBench
{
    private const int Users = 1000;

    public static Task<IReadOnlyList<Figure>> RunAsync(BenchOptions options)
    {
        var total = options.Large;
        var random = new Random(7);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var userIds = Enumerable.Range(0, Users).Select(i => $"u_{i:0000}").ToArray();
        var tasks = new QueuedTask[total];
        for (var i = 0; i < total; i++)
        {
            tasks[i] = new QueuedTask($"t_{i:0000000}", random.Next(0, 11), userIds[random.Next(Users)], start + TimeSpan.FromTicks(i));
        }
        Console.WriteLine($"ready: {total} tasks over 11 priorities and {Users} users, in memory");

        // Warm up the JIT on a small queue.
        Cycle(tasks.AsSpan(0, Math.Min(total, 20_000)), start);

        var queue = new ReadyQueue(TimeSpan.FromSeconds(60));
        var watch = Stopwatch.StartNew();
        foreach (var task in tasks)
        {
            queue.Add(task);
        }
        var addNs = watch.Elapsed.TotalNanoseconds / total;

        var removed = 0;
        watch.Restart();
        for (var i = 0; i < total; i += 10)
        {
            queue.Remove(tasks[i].TaskId);
            removed++;
        }
        var removeNs = watch.Elapsed.TotalNanoseconds / removed;

        // Steady state with a full backlog: one submission, one dispatch; the clock is past the starvation age,
        // so the guard's look at the oldest standard task runs on every take.
        var now = start + TimeSpan.FromMinutes(5);
        const int pairs = 200_000;
        watch.Restart();
        for (var i = 0; i < pairs; i++)
        {
            queue.Add(new QueuedTask($"s_{i:0000000}", i % 11, userIds[i % Users], now));
            queue.TryTake(now);
        }
        var pairNs = watch.Elapsed.TotalNanoseconds / pairs;

        var taken = 0;
        watch.Restart();
        while (queue.TryTake(now) is not null)
        {
            taken++;
        }
        var takeNs = watch.Elapsed.TotalNanoseconds / Math.Max(taken, 1);
        Console.WriteLine($"ready: add {addNs:0} ns, remove {removeNs:0} ns, add+take {pairNs:0} ns, take (draining {taken}) {takeNs:0} ns");
        return Task.FromResult<IReadOnlyList<Figure>>(
        [
            new Figure($"ready index: add, {total} queued", addNs, "ns/op", ""),
            new Figure("ready index: remove (cancel)", removeNs, "ns/op", ""),
            new Figure("ready index: add + take at full backlog", pairNs, "ns/op", ""),
            new Figure("ready index: take while draining", takeNs, "ns/op", ""),
        ]);
    }

    private static void Cycle(ReadOnlySpan<QueuedTask> tasks, DateTimeOffset start)
    {
        var queue = new ReadyQueue(TimeSpan.FromSeconds(60));
        foreach (var task in tasks)
        {
            queue.Add(task);
        }
        while (queue.TryTake(start + TimeSpan.FromMinutes(5)) is not null)
        {
        }
    }
}
