using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Skiff.Runtime.Execution;
using Skiff.Server.Scheduling;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Api;

internal static class OperationsEndpoints
{
    private static readonly TimeSpan SlowStore = TimeSpan.FromMilliseconds(250);

    public static IEndpointRouteBuilder MapOperationsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", HealthAsync).WithTags("Operations").Produces<HealthDocument>().Produces<HealthDocument>(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/metrics", (PrometheusExporter exporter) => Results.Text(exporter.Collect(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithTags("Operations");
        return app;
    }

    private static async Task<IResult> HealthAsync(ITaskStore store, DispatchQueue queue, EmbeddedWorker worker, ITaskExecutor executor, HttpContext context)
    {
        var watch = Stopwatch.StartNew();
        string? storeError = null;
        long deadLetter = 0;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            deadLetter = (await store.CountAsync(timeout.Token)).DeadLettered;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            storeError = ex.Message;
        }
        var latency = watch.Elapsed;
        var status = storeError is not null ? "unhealthy" : latency > SlowStore ? "degraded" : "healthy";
        var (standard, priority) = queue.LaneCounts;
        var counts = worker.Counts;
        var document = new HealthDocument(
            status,
            new QueueCountsDocument(standard, priority, deadLetter),
            worker.RunningCount,
            new WorkersDocument(counts.Current, counts.Desired, counts.Max),
            executor.Name,
            executor.Isolates,
            new StoreHealthDocument(Math.Round(latency.TotalMilliseconds, 3), storeError));
        return TypedResults.Json(document, ApiJson.Default.HealthDocument, statusCode: storeError is null ? 200 : 503);
    }
}
