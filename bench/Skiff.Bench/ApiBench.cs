using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Skiff.Bench;

/// <summary>
/// POST /tasks and GET /tasks/{id} over loopback against a server in its own process (API-only:
/// --max-workers 0, so the figures are the API's, not the executor's). C concurrent keep-alive clients.
/// </summary>
internal static class ApiBench
{
    private const string Body = """{"command":["true"],"priority":3,"metadata":{"bench":"api"}}""";

    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchOptions options)
    {
        using var dir = new TempDir();
        var (server, client) = await ServeMode.StartAsync(dir.Path, ServeMode.FreePort(), maxWorkers: 0, options.Connections);
        try
        {
            // Warm-up, then measure.
            await LoadAsync(client, options.Connections, TimeSpan.FromSeconds(2), Post);
            var posts = await LoadAsync(client, options.Connections, TimeSpan.FromSeconds(options.Seconds), Post);
            var created = await client.PostAsync("/tasks", new StringContent(Body, Encoding.UTF8, "application/json"));
            var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("taskId").GetString()!;
            var gets = await LoadAsync(client, options.Connections, TimeSpan.FromSeconds(options.Seconds), c => Get(c, id));
            Console.WriteLine($"api: POST {posts.Rate:0} req/s p50 {posts.P50:0.00} ms p99 {posts.P99:0.00} ms; GET {gets.Rate:0} req/s p50 {gets.P50:0.00} ms p99 {gets.P99:0.00} ms");
            return
            [
                new Figure($"POST /tasks throughput ({options.Connections} connections)", posts.Rate, "req/s", "≥ 5,000 req/s"),
                new Figure("POST /tasks p99", posts.P99, "ms", "≤ 10 ms"),
                new Figure("GET /tasks/{id} p99", gets.P99, "ms", "≤ 2 ms"),
                new Figure($"GET /tasks/{{id}} throughput", gets.Rate, "req/s", "-"),
            ];
        }
        finally
        {
            await ServeMode.StopAsync(server);
        }
    }

    private static async Task<bool> Post(HttpClient client)
    {
        using var response = await client.PostAsync("/tasks", new StringContent(Body, Encoding.UTF8, "application/json"));
        return response.StatusCode == System.Net.HttpStatusCode.Created;
    }

    private static async Task<bool> Get(HttpClient client, string id)
    {
        using var response = await client.GetAsync("/tasks/" + id);
        return response.IsSuccessStatusCode;
    }

    internal sealed record LoadResult(double Rate, double P50, double P99, int Errors);

    internal static async Task<LoadResult> LoadAsync(HttpClient client, int connections, TimeSpan duration, Func<HttpClient, Task<bool>> call)
    {
        var latencies = new List<double>[connections];
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(i => Task.Run(async () =>
        {
            var mine = latencies[i] = new List<double>(100_000);
            while (clock.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                var ok = await call(client);
                mine.Add(Stats.Ms(Stopwatch.GetTimestamp() - start));
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).ToList();
        if (errors > 0)
        {
            Console.Error.WriteLine($"api: {errors} requests failed");
        }
        return new LoadResult(all.Count / elapsed, Stats.Percentile(all, 50), Stats.Percentile(all, 99), errors);
    }
}
