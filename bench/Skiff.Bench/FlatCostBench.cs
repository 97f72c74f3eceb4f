using System.Diagnostics;
using Skiff.Core.Tasks;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;

namespace Skiff.Bench;

/// <summary>Lease and status latency with 10k tasks in the store, then again with 1M: the cost should stay flat.</summary>
internal static class FlatCostBench
{
    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchOptions options)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "skiff.db");
        var store = SqliteTaskStore.Open(path);
        var ids = new List<string>();
        await FillAsync(store, 10_000, ids);
        await WarmUpAsync(store, ids);
        // Measured on a reopened store: the store remembers the rows of tasks it created (up to 64k) and leases
        // those without reading them back, which at 10k would be every task and at 1M a few. The figure is about
        // what the file's size does to the cost, so both sizes start from the same, remembering nothing.
        store = await ReopenAsync(store, path);
        var (lease10k, get10k, warm10k) = await MeasureAsync(store, ids);
        Console.WriteLine($"flat: 10k tasks: lease p50 {lease10k:0.000} ms, status p50 {get10k:0.000} ms first read, {warm10k:0.000} ms read again");
        await FillAsync(store, options.Large - 10_000, ids);
        store = await ReopenAsync(store, path);
        var (leaseLarge, getLarge, warmLarge) = await MeasureAsync(store, ids);
        await store.DisposeAsync();
        Console.WriteLine($"flat: {options.Large} tasks: lease p50 {leaseLarge:0.000} ms, status p50 {getLarge:0.000} ms first read, {warmLarge:0.000} ms read again");
        return
        [
            new Figure("lease p50 at 10k tasks", lease10k, "ms", "-"),
            new Figure($"lease p50 at {options.Large / 1000}k tasks", leaseLarge, "ms", "within 20% of 10k"),
            new Figure("status (get by id) p50 at 10k tasks", get10k, "ms", "-"),
            new Figure($"status p50 at {options.Large / 1000}k tasks", getLarge, "ms", "within 20% of 10k"),
            new Figure("status p50 at 10k tasks, same tasks read again", warm10k, "ms", "-"),
            new Figure($"status p50 at {options.Large / 1000}k tasks, same tasks read again", warmLarge, "ms", "within 20% of 10k"),
        ];
    }

    private static async Task<SqliteTaskStore> ReopenAsync(SqliteTaskStore store, string path)
    {
        await store.DisposeAsync();
        return SqliteTaskStore.Open(path);
    }

    /// <summary>
    /// Runs the measured calls untimed until the JIT has compiled them at full tier: otherwise the 10k figures,
    /// taken first, measure the JIT (the 1M ones come after a million creates). The leased tasks leave the sample.
    /// </summary>
    private static async Task WarmUpAsync(ITaskStore store, List<string> ids)
    {
        var warm = ids.Take(1_000).ToList();
        ids.RemoveRange(0, warm.Count);
        var clock = Stopwatch.StartNew();
        for (var round = 0; clock.Elapsed < TimeSpan.FromSeconds(3); round++)
        {
            foreach (var id in warm)
            {
                await store.GetTaskAsync(id, withEvents: true, CancellationToken.None);
                if (round == 0)
                {
                    var now = DateTimeOffset.UtcNow;
                    await store.LeaseAsync(id, "warm-up", now, now.AddMinutes(15), CancellationToken.None);
                }
            }
        }
        // Tier-1 code is compiled in the background: let it land.
        await Task.Delay(500);
    }

    private static async Task FillAsync(ITaskStore store, int count, List<string> ids)
    {
        var spec = new TaskSpec { Command = ["true"], Metadata = new Dictionary<string, string> { ["bench"] = "flat" } };
        var clock = Stopwatch.StartNew();
        var next = 0;
        var created = new List<string>[64];
        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            var mine = created[i] = [];
            while (Interlocked.Increment(ref next) <= count)
            {
                var now = DateTimeOffset.UtcNow;
                var outcome = await store.CreateTaskAsync(new NewTask(TaskIds.New(now), "u_" + (next % 50), spec with { Priority = next % 11 }, now, null), CancellationToken.None);
                mine.Add(outcome.Task.TaskId);
            }
        })));
        foreach (var list in created)
        {
            ids.AddRange(list);
        }
        Console.WriteLine($"flat: filled {count} tasks in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private static async Task<(double Lease, double Get, double GetAgain)> MeasureAsync(ITaskStore store, List<string> ids)
    {
        var random = new Random(42);
        var leaseTimes = new List<double>();
        var sample = Enumerable.Range(0, 3000).Select(_ => ids[random.Next(ids.Count)]).ToList();
        // First reads after the reopen touch pages this process has not mapped yet (at 1M, most of them); reading the
        // same tasks again shows the cost of the lookup itself.
        var getTimes = await TimeGetsAsync(store, sample);
        var againTimes = await TimeGetsAsync(store, sample);
        // Lease tasks that are really waiting (each at most once), spread over the whole table.
        var candidates = ids.OrderBy(_ => random.Next()).Take(2000).ToList();
        foreach (var id in candidates)
        {
            var now = DateTimeOffset.UtcNow;
            var start = Stopwatch.GetTimestamp();
            var outcome = await store.LeaseAsync(id, "bench", now, now.AddMinutes(15), CancellationToken.None);
            leaseTimes.Add(Stats.Ms(Stopwatch.GetTimestamp() - start));
            if (!outcome.Applied)
            {
                throw new InvalidOperationException("lease refused");
            }
        }
        ids.RemoveAll(candidates.ToHashSet().Contains);
        return (Stats.Percentile(leaseTimes, 50), Stats.Percentile(getTimes, 50), Stats.Percentile(againTimes, 50));
    }

    private static async Task<List<double>> TimeGetsAsync(ITaskStore store, List<string> sample)
    {
        var times = new List<double>();
        foreach (var id in sample)
        {
            var start = Stopwatch.GetTimestamp();
            await store.GetTaskAsync(id, withEvents: true, CancellationToken.None);
            times.Add(Stats.Ms(Stopwatch.GetTimestamp() - start));
        }
        return times;
    }
}
