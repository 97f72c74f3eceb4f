using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Core.Scaling;
using Skiff.Server.Hosting;
using Skiff.Server.Telemetry;

namespace Skiff.Server.Scheduling;

/// <summary>
/// The worker embedded in the server: a dispatch loop that takes ready tasks while a slot is free, and the
/// attempts it runs. Active slots follow the <see cref="Autoscaler"/>.
/// Per-user running limits are applied by <see cref="DispatchQueue.TryTake"/>, which never hands out a task of a
/// user at their limit; every task it hands out is released when its attempt ends.
/// Shutdown (see <see cref="DrainAsync"/>): stop taking work, let running attempts finish within the grace
/// period, then stop the rest, which go back to their lane with their attempt refunded.
/// </summary>
internal sealed class EmbeddedWorker(
    DispatchQueue queue,
    AttemptRunner runner,
    TimeProvider time,
    IOptions<SkiffOptions> options,
    ILogger<EmbeddedWorker> logger)
{
    private static readonly TimeSpan IdleTick = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, RunningAttempt> _running = new(StringComparer.Ordinal);
    private readonly Autoscaler _autoscaler = new(options.Value.MaxWorkers, options.Value.ScaleOutCooldown, options.Value.ScaleInCooldown);
    private readonly Lock _scaleLock = new();
    private int _runningCount;

    public int RunningCount => Volatile.Read(ref _runningCount);

    public WorkerCounts Counts
    {
        get
        {
            lock (_scaleLock)
            {
                return _autoscaler.Counts;
            }
        }
    }

    public ICollection<string> RunningTaskIds => _running.Keys;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Dispatch();
                var wait = IdleTick;
                if (queue.NextDueAt is { } due)
                {
                    var untilDue = due - time.GetUtcNow();
                    wait = untilDue < TimeSpan.Zero ? TimeSpan.Zero : untilDue < wait ? untilDue : wait;
                }
                await queue.WaitAsync(wait, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Log.LoopFailed(logger, ex, "dispatch");
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private void Dispatch()
    {
        var now = time.GetUtcNow();
        while (true)
        {
            int slots;
            lock (_scaleLock)
            {
                slots = _autoscaler.Evaluate(now, RunningCount, queue.Count);
            }
            if (RunningCount >= slots)
            {
                return;
            }
            var next = queue.TryTake(now);
            if (next is null)
            {
                return;
            }
            Interlocked.Increment(ref _runningCount);
            var attempt = new RunningAttempt(next);
            _running[next.TaskId] = attempt;
            attempt.Completion = RunAttemptAsync(attempt);
        }
    }

    private async Task RunAttemptAsync(RunningAttempt attempt)
    {
        try
        {
            await runner.RunAsync(attempt).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The store refused or failed: the lease (if taken) expires and the reaper recovers the task.
            Log.AttemptCrashed(logger, ex, attempt.TaskId, attempt.Task?.Attempts ?? 0);
        }
        finally
        {
            _running.TryRemove(attempt.TaskId, out _);
            attempt.Dispose();
            Interlocked.Decrement(ref _runningCount);
            // However the attempt ended (done, cancelled, never leased, lease lost, stopped by shutdown), its
            // user's running count goes down here, exactly once, and the dispatch loop wakes to fill the slot.
            queue.Release(attempt.Queued.UserId);
        }
    }

    /// <summary>Stops the running attempt of a task (cancel); false when this worker does not run it.</summary>
    public bool TryStop(string taskId)
    {
        if (!_running.TryGetValue(taskId, out var attempt))
        {
            return false;
        }
        attempt.Stop(StopReason.Cancel);
        return true;
    }

    /// <summary>Waits for the attempt of a task to end, up to <paramref name="timeout"/>.</summary>
    public async Task WaitForAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_running.TryGetValue(taskId, out var attempt))
        {
            await attempt.Completion.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Called after the dispatch loop stopped: finish or hand back what is running.</summary>
    public async Task DrainAsync(TimeSpan grace)
    {
        var running = _running.Values.ToList();
        if (running.Count == 0)
        {
            return;
        }
        Log.Draining(logger, grace, running.Count);
        var all = Task.WhenAll(running.Select(r => r.Completion));
        try
        {
            await all.WaitAsync(grace, time).ConfigureAwait(false);
            return;
        }
        catch (TimeoutException)
        {
            // Grace is over: stop what still runs; each attempt records "requeued" itself.
        }
        foreach (var attempt in _running.Values)
        {
            attempt.Stop(StopReason.Shutdown);
        }
        try
        {
            await all.WaitAsync(TimeSpan.FromSeconds(15), time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Whatever is still unrecorded is recovered through lease expiry at the next start.
        }
    }
}
