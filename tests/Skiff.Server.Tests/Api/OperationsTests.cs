using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>/health, /metrics and the OpenAPI document, without a key.</summary>
[Collection(RunningServerCollection.Name)]
public sealed class OperationsTests(RunningServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    [Fact]
    public async Task Health_RunningServer_ShapeAndValues()
    {
        // "degraded" would only mean one slow store round trip on a busy machine; a later probe is healthy.
        var health = await Eventually.UntilAsync(async () =>
        {
            using var response = await Server.Anonymous.GetAsync("/health");
            return await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        }, h => (string)h["status"]! == "healthy", SkiffTestServer.DefaultWait, "a healthy /health", h => h.ToJsonString());

        Assert.Equal("process (no isolation)", (string)health["executor"]!);
        Assert.False((bool)health["isolated"]!);
        Assert.Equal(RunningServerFixture.MaxWorkers, (int)health["workers"]!["max"]!);
        Assert.InRange((int)health["workers"]!["current"]!, 0, RunningServerFixture.MaxWorkers);
        Assert.InRange((int)health["workers"]!["desired"]!, 0, RunningServerFixture.MaxWorkers);
        Assert.True((int)health["running"]! >= 0);
        Assert.True((int)health["queues"]!["standard"]! >= 0);
        Assert.True((int)health["queues"]!["priority"]! >= 0);
        Assert.True((long)health["queues"]!["deadLetter"]! >= 0);
        Assert.InRange((double)health["store"]!["latencyMs"]!, 0, 250);
        Assert.Null(health["store"]!["error"]);
    }

    [Fact]
    public async Task Health_RunningTask_CountedAndWorkersScaledOut()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo started; exec sleep 30"));
        await Server.WaitForLogAsync(taskId, "started");

        var health = await Server.GetJsonAsync("/health");
        using (var cancel = await Server.PostAsync($"/tasks/{taskId}/cancel"))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }

        Assert.True((int)health["running"]! >= 1, health.ToJsonString());
        Assert.True((int)health["workers"]!["current"]! >= 1, health.ToJsonString());
    }

    [Fact]
    public async Task Metrics_FirstScrapeAfterTasksRan_PrometheusTextWithTaskQueueAndHttpMetrics()
    {
        // Regression: the exporter was made by the first scrape and missed everything before it, so this
        // server is scraped for the first time only after its task ran. (Meters are process-wide: other test
        // servers' measurements may add to these figures, never take from them.)
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 1);
        var taskId = await server.SubmitIdAsync(TaskJson.Command("true"));
        await server.WaitForStatusAsync(taskId, "succeeded");

        using var response = await server.Anonymous.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0.0.4", response.Content.Headers.ContentType?.Parameters.Single(p => p.Name == "version").Value);
        var text = await response.Content.ReadAsStringAsync();
        var lines = text.Split('\n');
        Assert.True(Value(lines, "skiff_tasks_completed_total{status=\"succeeded\"}") >= 1, text);
        Assert.Contains("# TYPE skiff_tasks_completed_total counter", lines);
        Assert.Contains("# TYPE skiff_queue_depth gauge", lines);
        Assert.Contains(lines, l => l.StartsWith("skiff_queue_depth{queue=\"standard\"} ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("skiff_queue_depth{queue=\"priority\"} ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("skiff_workers{kind=\"max\"} ", StringComparison.Ordinal));
        foreach (var histogram in new[] { "skiff_task_lease_latency_milliseconds", "skiff_task_start_latency_milliseconds", "skiff_task_duration_milliseconds", "http_server_request_duration_seconds" })
        {
            Assert.Contains($"# TYPE {histogram} histogram", lines);
            Assert.Contains(lines, l => Regex.IsMatch(l, $@"^{histogram}_bucket\{{.*le=""\+Inf""\}} [1-9]"));
            Assert.Contains(lines, l => l.StartsWith(histogram + "_count", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith(histogram + "_sum", StringComparison.Ordinal));
        }
        Assert.Contains(lines, l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
                                    && l.Contains("http_route=\"/tasks/{taskId}\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpenApi_Document_JsonDescribingTheTaskEndpoints()
    {
        using var response = await Server.Anonymous.GetAsync("/openapi/v1.json");

        var document = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        Assert.StartsWith("3.", (string)document["openapi"]!, StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject();
        Assert.True(paths.ContainsKey("/tasks"), string.Join(", ", paths.Select(p => p.Key)));
        Assert.NotNull(paths["/tasks"]!["post"]);
        Assert.NotNull(paths["/tasks"]!["get"]);
        foreach (var path in new[] { "/tasks/{taskId}", "/tasks/{taskId}/cancel", "/tasks/{taskId}/logs", "/tasks/{taskId}/result", "/dead-letter", "/dead-letter/{taskId}/redrive", "/health", "/metrics" })
        {
            Assert.True(paths.ContainsKey(path), $"{path} missing: {string.Join(", ", paths.Select(p => p.Key))}");
        }
    }

    private static double Value(string[] lines, string series)
    {
        var line = lines.Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
