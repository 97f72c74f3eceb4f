using Skiff.Core.Tasks;

namespace Skiff.Core.Queue;

/// <summary>A waiting task as the scheduler sees it; the store holds the rest.</summary>
public sealed record QueuedTask(string TaskId, int Priority, string UserId, DateTimeOffset ReadyAt);

/// <summary>
/// The in-memory ready index: which waiting task a free worker takes next. It is a cache of the store
/// (rebuilt from it at start), so it holds only ids and ordering keys. Not thread-safe: the scheduler locks.
/// <para>
/// Order: the priority lane (5–10) before the standard lane (0–4), higher priority first. Within one priority
/// users take turns (round-robin), each user's tasks first in, first out: one user's backlog delays another
/// user's task there by at most one take per user ahead of it in the turn, never by the backlog's length.
/// </para>
/// <para>
/// Starvation guard: when the oldest waiting standard task has waited longer than <see cref="StarvationAge"/>,
/// the take goes to that task's priority (where users still take turns) unless the priority task next in turn
/// is older still. Starved standard tasks thus go oldest first, before newer priority tasks and newer tasks of
/// higher standard priorities, each after at most one turn of every user ahead of it at its own priority.
/// </para>
/// <para>
/// Users that may not start more work now (<c>canStart</c> of <see cref="TryTake"/>) are set aside with all
/// their tasks until <see cref="Resume"/>, so they cost nothing while they wait.
/// </para>
/// <para>
/// Cost, with u the users waiting: add O(1), or O(log u) when it starts a user's FIFO at a standard priority;
/// take and remove O(log u), plus skipping removed tasks that were in the middle of a FIFO when they reach its
/// head (each is skipped once); delayed tasks O(log d). Setting a user aside or resuming them is O(log u).
/// </para>
/// </summary>
public sealed class ReadyQueue
{
    // Every user with ready tasks at a priority has one FIFO there. Invariants: a FIFO is never empty (it is
    // dropped when its last task leaves) and its head is always a live task; the FIFOs of users not set aside
    // are in their priority's rotation and, in the standard lane, in the oldest-head heap.
    private readonly Rotation[] _rotations = new Rotation[TaskDefaults.MaxPriority + 1];
    private readonly OldestHeadHeap _standardHeads = new();
    private readonly Dictionary<string, UserTasks> _users = new(StringComparer.Ordinal);
    // Every waiting task (ready or delayed) by id. Removal only drops the id here: a FIFO entry whose
    // sequence no longer matches is dead and is skipped when it reaches the head.
    private readonly Dictionary<string, Waiting> _members = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Waiting, (DateTimeOffset Due, long Sequence)> _delayed = new();
    private readonly int[] _laneCounts = new int[2];
    // Waiting tasks (ready or delayed) per user, for the per-user queued quota.
    private readonly Dictionary<string, int> _userCounts = new(StringComparer.Ordinal);
    private long _sequence;

    public ReadyQueue(TimeSpan starvationAge)
    {
        StarvationAge = starvationAge;
        for (var i = 0; i < _rotations.Length; i++)
        {
            _rotations[i] = new Rotation();
        }
    }

    public TimeSpan StarvationAge { get; }

    public int Count => _members.Count;

    public int CountIn(Lane lane) => _laneCounts[(int)lane];

    /// <summary>How many tasks of <paramref name="userId"/> wait here, ready or delayed.</summary>
    public int CountOf(string userId) => _userCounts.GetValueOrDefault(userId);

    public bool Contains(string taskId) => _members.ContainsKey(taskId);

    /// <summary>When the earliest delayed task becomes ready, if any.</summary>
    public DateTimeOffset? NextDueAt => _delayed.TryPeek(out _, out var key) ? key.Due : null;

    /// <summary>Adds a task that may run now, or at <paramref name="notBefore"/> (a retry's backoff).</summary>
    public bool Add(QueuedTask task, DateTimeOffset? notBefore = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(task.Priority);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(task.Priority, TaskDefaults.MaxPriority);
        // A lifted comparison: no notBefore is never later.
        var delayedTo = notBefore > task.ReadyAt ? notBefore : null;
        var waiting = new Waiting(delayedTo is { } due ? task with { ReadyAt = due } : task, _sequence);
        if (!_members.TryAdd(task.TaskId, waiting))
        {
            return false;
        }
        _sequence++;
        _laneCounts[(int)TaskSpec.LaneOf(task.Priority)]++;
        _userCounts[task.UserId] = CountOf(task.UserId) + 1;
        if (delayedTo is not null)
        {
            _delayed.Enqueue(waiting, (waiting.Task.ReadyAt, waiting.Sequence));
        }
        else
        {
            // Delayed tasks move to their FIFO only when TryTake runs, and it does not run while every slot
            // is busy: promote the ones already due first, or a retry due earlier would queue behind this task.
            PromoteDue(task.ReadyAt);
            Enqueue(waiting);
        }
        return true;
    }

    /// <summary>Removes a waiting task (cancelled); false when it is not here.</summary>
    public bool Remove(string taskId)
    {
        if (!_members.Remove(taskId, out var waiting))
        {
            return false;
        }
        _laneCounts[(int)TaskSpec.LaneOf(waiting.Task.Priority)]--;
        Uncount(waiting.Task.UserId);
        // Only a head has to go at once (heads are live); deeper entries are skipped when they get there.
        if (_users.TryGetValue(waiting.Task.UserId, out var user) && user.Fifos[waiting.Task.Priority] is { } fifo
            && fifo.Head.Sequence == waiting.Sequence)
        {
            HeadLeft(fifo);
        }
        return true;
    }

    /// <summary>
    /// Takes the next task to run at <paramref name="now"/>, or null when none is ready (or every ready task's
    /// user is refused by <paramref name="canStart"/>). A user refused by <paramref name="canStart"/> is set
    /// aside, with all their tasks, until <see cref="Resume"/> is called for them.
    /// </summary>
    public QueuedTask? TryTake(DateTimeOffset now, Func<string, bool>? canStart = null)
    {
        PromoteDue(now);
        UserFifo? next = null;
        for (var p = TaskDefaults.MaxPriority; p >= TaskDefaults.PriorityLaneMin && next is null; p--)
        {
            next = NextInTurn(p, canStart);
        }
        if (OldestStandard(canStart) is { } oldest && now - oldest.Head.Task.ReadyAt > StarvationAge
            && (next is null || next.Head.Task.ReadyAt > oldest.Head.Task.ReadyAt))
        {
            // Its user was just accepted by canStart, so its priority has someone in turn.
            next = NextInTurn(oldest.Priority, canStart);
        }
        for (var p = TaskDefaults.PriorityLaneMin - 1; p >= 0 && next is null; p--)
        {
            next = NextInTurn(p, canStart);
        }
        if (next is null)
        {
            return null;
        }
        var task = next.Head.Task;
        _members.Remove(task.TaskId);
        _laneCounts[(int)TaskSpec.LaneOf(task.Priority)]--;
        Uncount(task.UserId);
        if (HeadLeft(next))
        {
            _rotations[next.Priority].MoveToBack(next);
        }
        return task;
    }

    /// <summary>Puts a user set aside by <see cref="TryTake"/>'s <c>canStart</c> back in turn (at the back).</summary>
    public void Resume(string userId)
    {
        if (!_users.TryGetValue(userId, out var user) || !user.SetAside)
        {
            return;
        }
        user.SetAside = false;
        foreach (var fifo in user.Fifos)
        {
            if (fifo is not null)
            {
                Activate(fifo);
            }
        }
    }

    private void Uncount(string userId)
    {
        var left = CountOf(userId) - 1;
        if (left > 0)
        {
            _userCounts[userId] = left;
        }
        else
        {
            _userCounts.Remove(userId);
        }
    }

    private UserFifo? NextInTurn(int priority, Func<string, bool>? canStart)
    {
        var rotation = _rotations[priority];
        while (rotation.First is { } fifo)
        {
            if (canStart is null || canStart(fifo.User.UserId))
            {
                return fifo;
            }
            SetAside(fifo.User);
        }
        return null;
    }

    private UserFifo? OldestStandard(Func<string, bool>? canStart)
    {
        while (_standardHeads.Top is { } fifo)
        {
            if (canStart is null || canStart(fifo.User.UserId))
            {
                return fifo;
            }
            SetAside(fifo.User);
        }
        return null;
    }

    private void SetAside(UserTasks user)
    {
        user.SetAside = true;
        foreach (var fifo in user.Fifos)
        {
            if (fifo is not null)
            {
                Deactivate(fifo);
            }
        }
    }

    private void Enqueue(Waiting waiting)
    {
        var task = waiting.Task;
        if (!_users.TryGetValue(task.UserId, out var user))
        {
            user = new UserTasks(task.UserId);
            _users.Add(task.UserId, user);
        }
        if (user.Fifos[task.Priority] is { } fifo)
        {
            fifo.Tasks.Enqueue(waiting);
            return;
        }
        fifo = new UserFifo(user, task.Priority);
        fifo.Tasks.Enqueue(waiting);
        user.Fifos[task.Priority] = fifo;
        user.FifoCount++;
        if (!user.SetAside)
        {
            Activate(fifo);
        }
    }

    /// <summary>
    /// After a FIFO's head was taken or removed: skips dead entries to the next live head, or drops the FIFO
    /// when none is left. True when the FIFO still has tasks.
    /// </summary>
    private bool HeadLeft(UserFifo fifo)
    {
        var tasks = fifo.Tasks;
        tasks.Dequeue();
        while (tasks.TryPeek(out var head)
               && !(_members.TryGetValue(head.Task.TaskId, out var member) && member.Sequence == head.Sequence))
        {
            tasks.Dequeue();
        }
        if (tasks.Count > 0)
        {
            if (fifo.HeapIndex >= 0)
            {
                _standardHeads.HeadChanged(fifo);
            }
            return true;
        }
        Deactivate(fifo);
        var user = fifo.User;
        user.Fifos[fifo.Priority] = null;
        if (--user.FifoCount == 0)
        {
            // Forgetting a user also forgets that they were set aside: canStart is asked again when they return.
            _users.Remove(user.UserId);
        }
        return false;
    }

    private void Activate(UserFifo fifo)
    {
        if (fifo.Active)
        {
            return;
        }
        fifo.Active = true;
        _rotations[fifo.Priority].AddLast(fifo);
        if (TaskSpec.LaneOf(fifo.Priority) == Lane.Standard)
        {
            _standardHeads.Insert(fifo);
        }
    }

    private void Deactivate(UserFifo fifo)
    {
        if (!fifo.Active)
        {
            return;
        }
        fifo.Active = false;
        _rotations[fifo.Priority].Remove(fifo);
        if (fifo.HeapIndex >= 0)
        {
            _standardHeads.Remove(fifo);
        }
    }

    private void PromoteDue(DateTimeOffset now)
    {
        while (_delayed.TryPeek(out var waiting, out var key) && key.Due <= now)
        {
            _delayed.Dequeue();
            if (_members.TryGetValue(waiting.Task.TaskId, out var member) && member.Sequence == waiting.Sequence)
            {
                Enqueue(waiting);
            }
        }
    }

    /// <summary>One waiting task; the sequence tells this entry from a later one of the same id and breaks ties in age.</summary>
    private readonly record struct Waiting(QueuedTask Task, long Sequence);

    private sealed class UserTasks(string userId)
    {
        public string UserId { get; } = userId;

        public UserFifo?[] Fifos { get; } = new UserFifo?[TaskDefaults.MaxPriority + 1];

        public int FifoCount { get; set; }

        /// <summary>Refused by canStart: none of the user's FIFOs is in turn until <see cref="Resume"/>.</summary>
        public bool SetAside { get; set; }
    }

    /// <summary>One user's ready tasks at one priority, first in first out; a node of its priority's rotation.</summary>
    private sealed class UserFifo(UserTasks user, int priority)
    {
        public UserTasks User { get; } = user;

        public int Priority { get; } = priority;

        public Queue<Waiting> Tasks { get; } = new();

        public Waiting Head => Tasks.Peek();

        /// <summary>In its rotation (and, in the standard lane, in the heap).</summary>
        public bool Active { get; set; }

        public UserFifo? Previous { get; set; }

        public UserFifo? Next { get; set; }

        public int HeapIndex { get; set; } = -1;
    }

    /// <summary>The users waiting at one priority, in turn order: an intrusive list, so leaving it is O(1).</summary>
    private sealed class Rotation
    {
        private UserFifo? _last;

        public UserFifo? First { get; private set; }

        public void AddLast(UserFifo fifo)
        {
            fifo.Previous = _last;
            fifo.Next = null;
            if (_last is null)
            {
                First = fifo;
            }
            else
            {
                _last.Next = fifo;
            }
            _last = fifo;
        }

        public void Remove(UserFifo fifo)
        {
            if (fifo.Previous is null)
            {
                First = fifo.Next;
            }
            else
            {
                fifo.Previous.Next = fifo.Next;
            }
            if (fifo.Next is null)
            {
                _last = fifo.Previous;
            }
            else
            {
                fifo.Next.Previous = fifo.Previous;
            }
            fifo.Previous = null;
            fifo.Next = null;
        }

        public void MoveToBack(UserFifo fifo)
        {
            if (fifo != _last)
            {
                Remove(fifo);
                AddLast(fifo);
            }
        }
    }

    /// <summary>
    /// A binary min-heap of FIFOs by the age of their head (ready time, then sequence). Each FIFO knows its
    /// index, so it can move when its head changes or leave when its user is set aside, in O(log n). The keys
    /// sit in the heap's own array: sifting reads one contiguous array, not every FIFO on the way.
    /// </summary>
    private sealed class OldestHeadHeap
    {
        private Node[] _nodes = new Node[16];
        private int _count;

        public UserFifo? Top => _count > 0 ? _nodes[0].Fifo : null;

        public void Insert(UserFifo fifo)
        {
            if (_count == _nodes.Length)
            {
                Array.Resize(ref _nodes, _nodes.Length * 2);
            }
            var index = _count++;
            Place(Node.Of(fifo), index);
            SiftUp(index);
        }

        public void Remove(UserFifo fifo)
        {
            var index = fifo.HeapIndex;
            fifo.HeapIndex = -1;
            var last = _nodes[--_count];
            _nodes[_count] = default;
            if (index < _count)
            {
                Place(last, index);
                Restore(index);
            }
        }

        /// <summary>Restores the order after the FIFO's head changed (usually to a newer one, not always).</summary>
        public void HeadChanged(UserFifo fifo)
        {
            _nodes[fifo.HeapIndex] = Node.Of(fifo);
            Restore(fifo.HeapIndex);
        }

        private void Restore(int index)
        {
            if (SiftUp(index) == index)
            {
                SiftDown(index);
            }
        }

        private int SiftUp(int index)
        {
            var node = _nodes[index];
            while (index > 0)
            {
                var parent = (index - 1) / 2;
                if (!node.IsOlderThan(_nodes[parent]))
                {
                    break;
                }
                Place(_nodes[parent], index);
                index = parent;
            }
            Place(node, index);
            return index;
        }

        private void SiftDown(int index)
        {
            var node = _nodes[index];
            while (true)
            {
                var child = (2 * index) + 1;
                if (child >= _count)
                {
                    break;
                }
                if (child + 1 < _count && _nodes[child + 1].IsOlderThan(_nodes[child]))
                {
                    child++;
                }
                if (!_nodes[child].IsOlderThan(node))
                {
                    break;
                }
                Place(_nodes[child], index);
                index = child;
            }
            Place(node, index);
        }

        private void Place(Node node, int index)
        {
            _nodes[index] = node;
            node.Fifo.HeapIndex = index;
        }

        private readonly record struct Node(DateTimeOffset ReadyAt, long Sequence, UserFifo Fifo)
        {
            public static Node Of(UserFifo fifo)
            {
                var head = fifo.Head;
                return new Node(head.Task.ReadyAt, head.Sequence, fifo);
            }

            public bool IsOlderThan(Node other) => ReadyAt < other.ReadyAt || (ReadyAt == other.ReadyAt && Sequence < other.Sequence);
        }
    }
}
