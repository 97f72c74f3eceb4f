using Skiff.Core.Tasks;

namespace Skiff.Core.Queue;

/// <summary>A waiting task as the scheduler sees it; the store holds the rest.</summary>
public sealed record QueuedTask(string TaskId, int Priority, string UserId, DateTimeOffset ReadyAt);

/// <summary>
/// The in-memory ready index: which waiting task a free worker takes next. It is a cache of the store
/// (rebuilt from it at start), so it holds only ids and ordering keys. Not thread-safe: the scheduler locks.
/// Order: the priority lane (5–10) before the standard lane (0–4), higher priority first, FIFO within a
/// priority. Starvation guard: a standard task that has waited longer than <see cref="StarvationAge"/>
/// is served before any priority task that became ready after it.
/// </summary>
public sealed class ReadyQueue
{
    private readonly Queue<QueuedTask>[] _byPriority = new Queue<QueuedTask>[TaskDefaults.MaxPriority + 1];
    private readonly PriorityQueue<QueuedTask, DateTimeOffset> _delayed = new();
    // Membership for O(1) removal: cancelled tasks stay in their queue and are skipped when they reach the head.
    private readonly HashSet<string> _members = new(StringComparer.Ordinal);
    private readonly int[] _laneCounts = new int[2];

    public ReadyQueue(TimeSpan starvationAge)
    {
        StarvationAge = starvationAge;
        for (var i = 0; i < _byPriority.Length; i++)
        {
            _byPriority[i] = new Queue<QueuedTask>();
        }
    }

    public TimeSpan StarvationAge { get; }

    public int Count => _members.Count;

    public int CountIn(Lane lane) => _laneCounts[(int)lane];

    public bool Contains(string taskId) => _members.Contains(taskId);

    /// <summary>Adds a task that may run now, or at <paramref name="notBefore"/> (a retry's backoff).</summary>
    public bool Add(QueuedTask task, DateTimeOffset? notBefore = null)
    {
        if (!_members.Add(task.TaskId))
        {
            return false;
        }
        _laneCounts[(int)TaskSpec.LaneOf(task.Priority)]++;
        if (notBefore is { } due && due > task.ReadyAt)
        {
            _delayed.Enqueue(task with { ReadyAt = due }, due);
        }
        else
        {
            // Delayed tasks move to their queue only when TryTake runs, and it does not run while every slot
            // is busy: promote the ones already due first, or a retry due earlier would queue behind this task.
            PromoteDue(task.ReadyAt);
            _byPriority[task.Priority].Enqueue(task);
        }
        return true;
    }

    public bool Remove(string taskId, int priority)
    {
        if (!_members.Remove(taskId))
        {
            return false;
        }
        _laneCounts[(int)TaskSpec.LaneOf(priority)]--;
        return true;
    }

    /// <summary>When the earliest delayed task becomes ready, if any.</summary>
    public DateTimeOffset? NextDueAt => _delayed.TryPeek(out _, out var due) ? due : null;

    /// <summary>Takes the next task to run at <paramref name="now"/>, or null when none is ready.</summary>
    public QueuedTask? TryTake(DateTimeOffset now)
    {
        PromoteDue(now);
        QueuedTask? priorityHead = null;
        for (var p = TaskDefaults.MaxPriority; p >= TaskDefaults.PriorityLaneMin && priorityHead is null; p--)
        {
            priorityHead = Head(p);
        }
        QueuedTask? oldestStandard = null;
        QueuedTask? bestStandard = null;
        for (var p = TaskDefaults.PriorityLaneMin - 1; p >= 0; p--)
        {
            var head = Head(p);
            if (head is null)
            {
                continue;
            }
            bestStandard ??= head;
            if (oldestStandard is null || head.ReadyAt < oldestStandard.ReadyAt)
            {
                oldestStandard = head;
            }
        }
        QueuedTask? chosen;
        if (oldestStandard is not null && now - oldestStandard.ReadyAt > StarvationAge
            && (priorityHead is null || priorityHead.ReadyAt > oldestStandard.ReadyAt))
        {
            chosen = oldestStandard;
        }
        else
        {
            chosen = priorityHead ?? bestStandard;
        }
        if (chosen is null)
        {
            return null;
        }
        _byPriority[chosen.Priority].Dequeue();
        Remove(chosen.TaskId, chosen.Priority);
        return chosen;
    }

    private QueuedTask? Head(int priority)
    {
        var queue = _byPriority[priority];
        while (queue.TryPeek(out var head))
        {
            if (_members.Contains(head.TaskId))
            {
                return head;
            }
            queue.Dequeue();
        }
        return null;
    }

    private void PromoteDue(DateTimeOffset now)
    {
        while (_delayed.TryPeek(out var task, out var due) && due <= now)
        {
            _delayed.Dequeue();
            if (_members.Contains(task.TaskId))
            {
                _byPriority[task.Priority].Enqueue(task);
            }
        }
    }
}
