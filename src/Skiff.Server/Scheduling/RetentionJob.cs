using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Server.Hosting;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Scheduling;

/// <summary>Deletes terminal tasks, their logs, results and files once they are older than the retention.</summary>
internal sealed class RetentionJob(ITaskStore store, TimeProvider time, IOptions<SkiffOptions> options, ILogger<RetentionJob> logger)
{
    private const int Batch = 500;
    private readonly SkiffOptions _options = options.Value;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RetentionInterval, time, stoppingToken).ConfigureAwait(false);
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Log.LoopFailed(logger, ex, "retention");
            }
        }
    }

    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - _options.Retention;
        var total = 0;
        while (true)
        {
            // Small batches keep each write transaction short, so dispatch is never stalled behind a sweep.
            var deleted = await store.DeleteCompletedBeforeAsync(cutoff, Batch, cancellationToken).ConfigureAwait(false);
            foreach (var id in deleted)
            {
                var directory = Path.Combine(_options.DataDirectory, "tasks", id);
                try
                {
                    if (Directory.Exists(directory))
                    {
                        Directory.Delete(directory, recursive: true);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    logger.LogWarning(ex, "Could not delete {Directory}", directory);
                }
            }
            total += deleted.Count;
            if (deleted.Count < Batch)
            {
                break;
            }
        }
        if (total > 0)
        {
            Log.RetentionDeleted(logger, total, cutoff);
        }
        return total;
    }
}
