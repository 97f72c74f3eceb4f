using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Server.Hosting;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Scheduling;

/// <summary>Deletes terminal tasks, their logs, results and files once they are older than the retention.</summary>
internal sealed class RetentionJob(ITaskStore store, TimeProvider time, IOptions<SkiffOptions> options, ILogger<RetentionJob> logger)
{
    // Internal for tests that need a full batch.
    internal const int Batch = 500;
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
            // Files before rows: a crash in between leaves rows whose files are gone, which the next sweep lists again
            // and finishes; rows first would leave directories that nothing refers to, forever.
            // Small batches keep each write transaction short, so dispatch is never stalled behind a sweep.
            var expired = await store.ListCompletedBeforeAsync(cutoff, Batch, cancellationToken).ConfigureAwait(false);
            foreach (var id in expired)
            {
                DeleteDirectory(id);
            }
            var deleted = await store.DeleteCompletedAsync(expired, cutoff, cancellationToken).ConfigureAwait(false);
            total += deleted.Count;
            // Nothing deleted from a full batch: were that to repeat (a store whose delete refuses what it lists), the
            // same batch would come back forever; whatever is left waits for the next sweep.
            if (expired.Count < Batch || deleted.Count == 0)
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

    private void DeleteDirectory(string taskId)
    {
        var directory = Path.Combine(_options.DataDirectory, "tasks", taskId);
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
}
