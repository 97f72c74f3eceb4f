using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Skiff.Server;

namespace Skiff.Bench;

/// <summary>
/// Dispatch latency and end-to-end throughput with the process executor, in one process with the server so
/// the server's own histograms (ready → leased, ready → process started) can be read raw.
/// </summary>
internal static class DispatchBench
{
    private const int WarmUpBurst = 1000;
    private const int MaxWarmUpBursts = 8;
    // Compiled during one warm-up burst and the pause after it; below this the JIT is done tiering up.
    private const long WarmMethods = 100;

    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchOptions options)
    {
        var lease = new ConcurrentQueue<double>();
        var start = new ConcurrentQueue<double>();
        var completed = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Skiff" && instrument.Name is "skiff.task.lease_latency" or "skiff.task.start_latency" or "skiff.tasks.completed")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
            (instrument.Name == "skiff.task.lease_latency" ? lease : start).Enqueue(value));
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref completed, value));
        listener.Start();

        using var dir = new TempDir();
        var skiffDll = Path.Combine(AppContext.BaseDirectory, "skiff.dll");
        var url = $"http://127.0.0.1:{ServeMode.FreePort()}";
        Environment.SetEnvironmentVariable("SKIFF_ADMIN_KEY", ServeMode.Key);
        await using var app = await SkiffServer.StartAsync(
            new ServerOptions { DataDirectory = dir.Path, Urls = url, MaxWorkers = 8, Executor = "process", SkiffCommand = ["dotnet", skiffDll] },
            new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" }, CancellationToken.None);
        using var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServeMode.Key);

        // Idle pick-up: one task at a time, each submitted to an idle worker.
        const int sequential = 300;
        for (var i = 0; i < sequential + 20; i++)
        {
            if (i == 20)
            {
                lease.Clear();
                start.Clear();
            }
            var before = Interlocked.Read(ref completed);
            using var response = await client.PostAsync("/tasks", Json("""{"command":["true"]}"""));
            response.EnsureSuccessStatusCode();
            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref completed) == before && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(1);
            }
        }
        var leaseP50 = Stats.Percentile(lease.ToList(), 50);
        var startP50 = Stats.Percentile(start.ToList(), 50);
        Console.WriteLine($"dispatch: idle ready→leased p50 {leaseP50:0.000} ms, ready→process started p50 {startP50:0.000} ms over {sequential} tasks");

        // Sustained: a burst of `true` tasks submitted by 16 clients, timed until the last one ended. A fresh
        // server spends its first seconds of load in the tiered JIT (a quarter of the CPU in perf, thousands of
        // methods going through tier 0, instrumented and optimised code), so untimed bursts of the same shape run
        // first, with a pause for the background compiler, until one compiles few methods: the figure is the
        // steady state of a server that has been running for a while.
        var burst = Math.Min(options.Tasks, 5000);
        for (var round = 1; round <= MaxWarmUpBursts; round++)
        {
            var methods = System.Runtime.JitInfo.GetCompiledMethodCount();
            var warmUpRate = await BurstAsync(client, WarmUpBurst, () => Interlocked.Read(ref completed));
            await Task.Delay(TimeSpan.FromSeconds(1));
            methods = System.Runtime.JitInfo.GetCompiledMethodCount() - methods;
            Console.WriteLine($"dispatch: warm-up burst {round}: {WarmUpBurst} tasks at {warmUpRate:0} tasks/s, {methods} methods compiled (not the figure)");
            if (methods < WarmMethods)
            {
                break;
            }
        }
        var cpuBefore = ProcessCpuMs();
        var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTime = System.Runtime.JitInfo.GetCompilationTime();
        var rate = await BurstAsync(client, burst, () => Interlocked.Read(ref completed));
        // Server and its reaped `true` processes together; steadier than tasks/s on a shared machine.
        var cpuPerTask = (ProcessCpuMs() - cpuBefore) / burst;
        Console.WriteLine($"dispatch: JIT during the timed burst: {System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethods} methods, {(System.Runtime.JitInfo.GetCompilationTime() - jitTime).TotalMilliseconds:0} ms");
        Console.WriteLine($"dispatch: {burst} tasks end to end at {rate:0} tasks/s, {cpuPerTask:0.00} ms CPU per task "
            + $"(this process and its children: at most {Environment.ProcessorCount * 1000 / cpuPerTask:0} tasks/s on {Environment.ProcessorCount} cores)");
        return
        [
            new Figure("submit → leased by an idle worker, p50", leaseP50, "ms", "≤ 1 ms"),
            new Figure("submit → process started (`true`, process executor), p50", startP50, "ms", "≤ 3 ms"),
            new Figure("end to end `true` tasks (8 workers)", rate, "tasks/s", "≥ 500 tasks/s"),
            new Figure("CPU per `true` task in that burst (server + task processes)", cpuPerTask, "ms", ""),
        ];
    }

    /// <summary>Submits <paramref name="count"/> `true` tasks from 16 clients; tasks/s until the last one ended.</summary>
    private static async Task<double> BurstAsync(HttpClient client, int count, Func<long> completed)
    {
        var done0 = completed();
        var clock = Stopwatch.StartNew();
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                using var r = await client.PostAsync("/tasks", Json("""{"command":["true"]}"""));
                r.EnsureSuccessStatusCode();
            }
        })));
        while (completed() - done0 < count && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(5);
        }
        return (completed() - done0) / clock.Elapsed.TotalSeconds;
    }

    /// <summary>User + system time of this process and of the children it reaped (utime, stime, cutime, cstime of proc(5)).</summary>
    private static double ProcessCpuMs()
    {
        var text = File.ReadAllText("/proc/self/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 of proc(5); utime is field 14. /proc reports USER_HZ = 100 ticks per second.
        return fields.Skip(11).Take(4).Sum(f => long.Parse(f, System.Globalization.CultureInfo.InvariantCulture)) * 10.0;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
