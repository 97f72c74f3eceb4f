using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Core.Tasks;
using Skiff.Server.Hosting;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Scheduling;

/// <summary>
/// Keeps the leases of running attempts alive (heartbeats) and returns tasks whose lease expired — their
/// worker died — to their lane with the attempt counted, or to the dead-letter queue when out of attempts.
/// </summary>
internal sealed class LeaseMonitor(
    ITaskStore store,
    DispatchQueue queue,
    EmbeddedWorker worker,
    AttemptRunner runner,
    SkiffMetrics metrics,
    TimeProvider time,
    IOptions<SkiffOptions> options,
    ILogger<LeaseMonitor> logger)
{
    private readonly SkiffOptions _options = options.Value;

    /// <summary>
    /// At start, every lease held by the embedded worker belongs to the previous process (this data
    /// directory is locked to one server), so it has expired in fact, whatever its deadline says.
    /// </summary>
    public Task<int> RecoverPreviousRunAsync(CancellationToken cancellationToken) =>
        ExpireAsync(AttemptRunner.Owner, cancellationToken);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var heartbeatEvery = _options.LeaseDuration / 3;
        var lastHeartbeat = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.LeaseCheckInterval, time, stoppingToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                if (now - lastHeartbeat >= heartbeatEvery)
                {
                    await store.ExtendLeasesAsync(worker.RunningTaskIds.ToList(), AttemptRunner.Owner, now + _options.LeaseDuration, stoppingToken).ConfigureAwait(false);
                    lastHeartbeat = now;
                }
                await ExpireAsync(null, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Log.LoopFailed(logger, ex, "leases");
            }
        }
    }

    private async Task<int> ExpireAsync(string? owner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var expired = await store.LoadExpiredLeasesAsync(now, owner, cancellationToken).ConfigureAwait(false);
        var running = owner is null ? worker.RunningTaskIds : [];
        var count = 0;
        foreach (var task in expired)
        {
            if (running.Contains(task.TaskId))
            {
                // Still running here (a heartbeat was late): keep it, the next heartbeat extends it.
                continue;
            }
            var decision = AttemptDecision.Decide(AttemptOutcome.LeaseExpired, task.Attempts, task.Spec.MaxAttempts, task.CancelRequested,
                runner.Retry, now, Random.Shared.NextDouble(), "lease expired");
            var outcome = await store.CompleteAttemptAsync(
                new AttemptCompletion(task.TaskId, task.Attempts, task.LeaseOwner, decision, now, null, "lease expired (worker lost)", null),
                cancellationToken).ConfigureAwait(false);
            if (!outcome.Applied)
            {
                continue;
            }
            count++;
            Log.LeaseExpired(logger, task.TaskId, task.Attempts, decision.Reason);
            metrics.Attempts.Add(1, new KeyValuePair<string, object?>("outcome", "leaseexpired"));
            if (outcome.Task!.Status.IsWaiting())
            {
                queue.Enqueue(outcome.Task);
            }
            else if (outcome.Task.Status.IsTerminal())
            {
                metrics.Completed.Add(1, new KeyValuePair<string, object?>("status", outcome.Task.Status.ToWire()));
            }
        }
        return count;
    }
}
