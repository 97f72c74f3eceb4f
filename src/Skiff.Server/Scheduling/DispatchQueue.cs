using System.Threading.Channels;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;

namespace Skiff.Server.Scheduling;

/// <summary>
/// The thread-safe face of the in-memory <see cref="ReadyQueue"/> plus the wake-up signal of the worker's
/// dispatch loop. A cache of the store: rebuilt from it at start, so losing it loses nothing.
/// </summary>
internal sealed class DispatchQueue
{
    private readonly Lock _lock = new();
    private readonly ReadyQueue _ready;
    // Capacity 1 + DropWrite: an auto-reset event that never blocks the signaller.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public DispatchQueue(TimeSpan starvationAge) => _ready = new ReadyQueue(starvationAge);

    public void Enqueue(TaskRecord task)
    {
        // A retrying task comes from the store with ReadyAt = NotBefore (when its backoff ends), but the ready
        // queue delays a task only when notBefore is later than the ReadyAt it is given: passed as is, the backoff
        // was skipped and the retry ran at once. The delayed entry takes NotBefore as its ReadyAt.
        var readyAt = task.NotBefore is null ? task.ReadyAt : DateTimeOffset.MinValue;
        lock (_lock)
        {
            _ready.Add(new QueuedTask(task.TaskId, task.Spec.Priority, task.UserId, readyAt), task.NotBefore);
        }
        Wake();
    }

    public void Remove(string taskId, int priority)
    {
        lock (_lock)
        {
            _ready.Remove(taskId, priority);
        }
    }

    public QueuedTask? TryTake(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _ready.TryTake(now);
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _ready.Count;
            }
        }
    }

    public (int Standard, int Priority) LaneCounts
    {
        get
        {
            lock (_lock)
            {
                return (_ready.CountIn(Lane.Standard), _ready.CountIn(Lane.Priority));
            }
        }
    }

    public DateTimeOffset? NextDueAt
    {
        get
        {
            lock (_lock)
            {
                return _ready.NextDueAt;
            }
        }
    }

    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Waits for a wake-up or <paramref name="timeout"/>, whichever comes first.</summary>
    public async ValueTask WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (_wake.Reader.TryRead(out _))
        {
            return;
        }
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutSource.Token, cancellationToken);
        try
        {
            await _wake.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: the caller re-checks delayed tasks and scaling.
        }
    }
}
