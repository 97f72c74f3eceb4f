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

        // Sustained: a burst of `true` tasks submitted by 16 clients, timed until the last one ended.
        var burst = Math.Min(options.Tasks, 5000);
        var done0 = Interlocked.Read(ref completed);
        var clock = Stopwatch.StartNew();
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= burst)
            {
                using var r = await client.PostAsync("/tasks", Json("""{"command":["true"]}"""));
                r.EnsureSuccessStatusCode();
            }
        })));
        while (Interlocked.Read(ref completed) - done0 < burst && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(5);
        }
        var rate = (Interlocked.Read(ref completed) - done0) / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"dispatch: {burst} tasks end to end at {rate:0} tasks/s");
        return
        [
            new Figure("submit → leased by an idle worker, p50", leaseP50, "ms", "≤ 1 ms"),
            new Figure("submit → process started (`true`, process executor), p50", startP50, "ms", "≤ 3 ms"),
            new Figure("end to end `true` tasks (8 workers)", rate, "tasks/s", "≥ 500 tasks/s"),
        ];
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
