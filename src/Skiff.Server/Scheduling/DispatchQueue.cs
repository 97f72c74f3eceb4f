using System.Threading.Channels;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;

namespace Skiff.Server.Scheduling;

/// <summary>
/// The thread-safe face of the in-memory <see cref="ReadyQueue"/> plus the wake-up signal of the worker's
/// dispatch loop. A cache of the store: rebuilt from it at start, so losing it loses nothing.
/// It also counts, per user, the tasks taken and not yet <see cref="Release"/>d, and takes no task of a user
/// at their running limit (<see cref="IUserLimits"/>): their tasks wait while other users' run.
/// </summary>
internal sealed class DispatchQueue
{
    private readonly Lock _lock = new();
    private readonly ReadyQueue _ready;
    private readonly IUserLimits _limits;
    private readonly Dictionary<string, int> _running = new(StringComparer.Ordinal);
    private readonly Func<string, bool> _canStart;
    // Capacity 1 + DropWrite: an auto-reset event that never blocks the signaller.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public DispatchQueue(TimeSpan starvationAge, IUserLimits limits)
    {
        _ready = new ReadyQueue(starvationAge);
        _limits = limits;
        _canStart = CanStart;
    }

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

    public void Remove(string taskId)
    {
        lock (_lock)
        {
            _ready.Remove(taskId);
        }
    }

    /// <summary>
    /// Takes the next task whose user is below their running limit, counting it as running for that user
    /// until <see cref="Release"/>.
    /// </summary>
    public QueuedTask? TryTake(DateTimeOffset now)
    {
        lock (_lock)
        {
            var task = _ready.TryTake(now, _canStart);
            if (task is not null)
            {
                _running[task.UserId] = RunningOf(task.UserId) + 1;
            }
            return task;
        }
    }

    /// <summary>
    /// A task taken through <see cref="TryTake"/> is no longer running here, however it ended (done, failed,
    /// cancelled, never leased, lease lost, stopped by shutdown): its user may start another.
    /// </summary>
    public void Release(string userId)
    {
        lock (_lock)
        {
            var running = RunningOf(userId) - 1;
            if (running > 0)
            {
                _running[userId] = running;
            }
            else
            {
                _running.Remove(userId);
            }
            _ready.Resume(userId);
        }
        Wake();
    }

    /// <summary>The user's limit may have changed: look at their waiting tasks again.</summary>
    public void LimitChanged(string userId)
    {
        lock (_lock)
        {
            _ready.Resume(userId);
        }
        Wake();
    }

    /// <summary>Tasks of one user waiting here (ready or in a retry's backoff).</summary>
    public int WaitingFor(string userId)
    {
        lock (_lock)
        {
            return _ready.CountOf(userId);
        }
    }

    /// <summary>Tasks taken and not yet released, for one user.</summary>
    public int RunningFor(string userId)
    {
        lock (_lock)
        {
            return RunningOf(userId);
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

    private int RunningOf(string userId) => _running.GetValueOrDefault(userId);

    // Called by the ready queue under _lock. A refused user is set aside until Release or LimitChanged.
    private bool CanStart(string userId)
    {
        var limit = _limits.MaxRunning(userId);
        return limit <= 0 || RunningOf(userId) < limit;
    }
}
