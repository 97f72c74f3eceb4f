using Skiff.Core.Queue;
using Skiff.Core.Tasks;

namespace Skiff.Server.Scheduling;

internal enum StopReason
{
    None,
    Cancel,
    Shutdown,
}

/// <summary>One attempt the embedded worker is running; registered before the lease is taken so a cancel never misses it.</summary>
internal sealed class RunningAttempt(QueuedTask queued) : IDisposable
{
    private int _stopReason;

    public QueuedTask Queued { get; } = queued;

    public string TaskId => Queued.TaskId;

    public CancellationTokenSource Stopping { get; } = new();

    /// <summary>The leased task (null until the lease is taken).</summary>
    public TaskRecord? Task { get; set; }

    public Task Completion { get; set; } = System.Threading.Tasks.Task.CompletedTask;

    public StopReason StopReason => (StopReason)Volatile.Read(ref _stopReason);

    /// <summary>Stops the attempt; the first reason wins (a cancel is not turned into a shutdown requeue).</summary>
    public void Stop(StopReason reason)
    {
        Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)StopReason.None);
        try
        {
            Stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The attempt already ended.
        }
    }

    public void Dispose() => Stopping.Dispose();
}
