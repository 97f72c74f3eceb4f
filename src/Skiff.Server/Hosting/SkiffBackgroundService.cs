using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Server.Scheduling;
using Skiff.Server.Telemetry;

namespace Skiff.Server.Hosting;

/// <summary>
/// Hosts the server's loops; the logic lives in plain classes. Start (before HTTP listens): recover leases
/// the previous process held, rebuild the ready queue. Stop: the dispatch loop ends first, then running
/// attempts drain (see <see cref="EmbeddedWorker.DrainAsync"/>), then the other loops end.
/// </summary>
internal sealed class SkiffBackgroundService(
    EmbeddedWorker worker,
    LeaseMonitor leases,
    RetentionJob retention,
    TaskService tasks,
    ITaskExecutor executor,
    IOptions<SkiffOptions> options,
    ILogger<SkiffBackgroundService> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _dispatchStopping = new();
    private readonly CancellationTokenSource _loopsStopping = new();
    private Task _dispatch = Task.CompletedTask;
    private Task _loops = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // What a previous process (kill -9) left running goes before any new attempt starts: a task recovered
        // through lease expiry must not run twice at once.
        if (executor is RuncExecutor runc)
        {
            await runc.CleanupLeftoversAsync(cancellationToken);
        }
        else if (executor is ProcessExecutor process)
        {
            process.KillLeftovers();
        }
        await leases.RecoverPreviousRunAsync(cancellationToken);
        var waiting = await tasks.RebuildQueueAsync(cancellationToken);
        Log.ReadyQueueRebuilt(logger, waiting);
        _dispatch = Task.Run(() => worker.RunAsync(_dispatchStopping.Token), CancellationToken.None);
        _loops = Task.WhenAll(
            Task.Run(() => leases.RunAsync(_loopsStopping.Token), CancellationToken.None),
            Task.Run(() => retention.SweepAsync(_loopsStopping.Token), CancellationToken.None)
                .ContinueWith(_ => retention.RunAsync(_loopsStopping.Token), TaskScheduler.Default).Unwrap());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _dispatchStopping.CancelAsync();
        await _dispatch;
        // Heartbeats keep running during the drain so long-running attempts keep their leases.
        await worker.DrainAsync(options.Value.ShutdownGrace);
        await _loopsStopping.CancelAsync();
        await _loops;
    }

    public void Dispose()
    {
        _dispatchStopping.Dispose();
        _loopsStopping.Dispose();
    }
}
