using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Skiff.Server.Telemetry;
using Xunit;

namespace Skiff.Server.Tests.Telemetry;

/// <summary>Against a real Kestrel host: the meters ASP.NET creates through IMeterFactory, with their advice.</summary>
public sealed class PrometheusExporterAspNetTests
{
    [Fact]
    public async Task Collect_RealKestrelRequests_RequestDurationWithAspNetAdvisedBuckets()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var exporter = new PrometheusExporter(["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"]);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet("/prometheus-exporter-test/{id}", (string id) => Results.Text(id));
        await app.StartAsync(deadline.Token);

        using (var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) })
        {
            Assert.Equal("1", await client.GetStringAsync(new Uri("/prometheus-exporter-test/1", UriKind.Relative), deadline.Token));
            Assert.Equal("2", await client.GetStringAsync(new Uri("/prometheus-exporter-test/2", UriKind.Relative), deadline.Token));
        }

        // Stopping drains the requests, so their durations are recorded; the meters live until the app is disposed.
        await app.StopAsync(deadline.Token);
        var text = exporter.Collect();

        // Other tests may run hosts in this process at the same time; only this test's route is asserted.
        const string Route = "http_route=\"/prometheus-exporter-test/{id}\"";
        var lines = text.Split('\n').Where(l => l.Contains(Route, StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^http_server_request_duration_seconds_count\{.*http_response_status_code=""200"".*\} 2$"));

        // 0.075 is one of ASP.NET's advised bounds and not among the exporter's defaults.
        Assert.Contains(lines, l => l.StartsWith("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal) && l.Contains("le=\"0.075\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^http_server_request_duration_seconds_bucket\{.*le=""\+Inf""\} 2$"));
        Assert.Equal(1, text.Split('\n').Count(l => l == "# TYPE http_server_request_duration_seconds histogram"));
    }
}
