using Microsoft.Extensions.Time.Testing;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;

namespace Skiff.Core.Tests.Queue;

public sealed class ReadyQueueTests
{
    private static readonly TimeSpan StarvationAge = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ReadyQueue _queue = new(StarvationAge);

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Adds a task that became ready now, then moves the clock on a little so ready times differ.</summary>
    private QueuedTask Add(string id, int priority)
    {
        var task = new QueuedTask(id, priority, "u1", Now);
        Assert.True(_queue.Add(task));
        _time.Advance(TimeSpan.FromMilliseconds(10));
        return task;
    }

    private List<string> Drain()
    {
        var taken = new List<string>();
        while (_queue.TryTake(Now) is { } task)
        {
            taken.Add(task.TaskId);
        }
        return taken;
    }

    [Fact]
    public void TryTake_Empty_Null()
    {
        Assert.Null(_queue.TryTake(Now));
        Assert.Equal(0, _queue.Count);
    }

    [Fact]
    public void TryTake_StandardAddedFirst_PriorityLaneServedFirst()
    {
        Add("standard-4", 4);
        Add("priority-5", 5);

        Assert.Equal(["priority-5", "standard-4"], Drain());
    }

    [Fact]
    public void TryTake_MixedPriorities_HigherFirstWithinEachLane()
    {
        Add("p5", 5);
        Add("s0", 0);
        Add("p10", 10);
        Add("s4", 4);
        Add("p7", 7);
        Add("s2", 2);

        Assert.Equal(["p10", "p7", "p5", "s4", "s2", "s0"], Drain());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(10)]
    public void TryTake_SamePriority_FirstInFirstOut(int priority)
    {
        for (var i = 0; i < 20; i++)
        {
            Add($"t{i:00}", priority);
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"t{i:00}"), Drain());
    }

    [Fact]
    public void TryTake_SamePriorityAndSameReadyTime_InsertionOrder()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            _queue.Add(new QueuedTask(id, 3, "u1", Now));
        }

        Assert.Equal(["c", "a", "b"], Drain());
    }

    [Fact]
    public void TryTake_StandardWaitedLongerThanStarvationAge_ServedBeforeNewerPriority()
    {
        Add("standard", 0);
        _time.Advance(TimeSpan.FromSeconds(10));
        Add("priority", 10);
        _time.Advance(TimeSpan.FromSeconds(21)); // the standard task has now waited just over 31 s

        Assert.Equal("standard", _queue.TryTake(Now)?.TaskId);
        Assert.Equal("priority", _queue.TryTake(Now)?.TaskId);
    }

    [Fact]
    public void TryTake_AgedStandardButPriorityIsOlder_PriorityFirst()
    {
        Add("priority", 5);
        _time.Advance(TimeSpan.FromSeconds(1));
        Add("standard", 4);
        _time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(["priority", "standard"], Drain());
    }

    [Fact]
    public void TryTake_StandardNotYetOlderThanStarvationAge_PriorityFirst()
    {
        var standard = Add("standard", 0);
        Add("priority", 10);

        _time.SetUtcNow(standard.ReadyAt + StarvationAge - TimeSpan.FromSeconds(1));
        Assert.Equal("priority", _queue.TryTake(Now)?.TaskId);

        _queue.Add(new QueuedTask("priority-2", 10, "u1", Now));
        // Exactly the age is not "longer than" it.
        _time.SetUtcNow(standard.ReadyAt + StarvationAge);
        Assert.Equal("priority-2", _queue.TryTake(Now)?.TaskId);

        _queue.Add(new QueuedTask("priority-3", 10, "u1", Now));
        _time.SetUtcNow(standard.ReadyAt + StarvationAge + TimeSpan.FromTicks(1));
        Assert.Equal("standard", _queue.TryTake(Now)?.TaskId);
    }

    [Fact]
    public void TryTake_SeveralStarvedStandards_OldestFirstThenPriority()
    {
        Add("s0-old", 0);
        Add("s4-newer", 4);
        _time.Advance(TimeSpan.FromSeconds(5));
        Add("p10", 10);
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(["s0-old", "s4-newer", "p10"], Drain());
    }

    [Fact]
    public void TryTake_StarvedStandardWithOnlyOlderAndNewerPriorities_BetweenThem()
    {
        Add("p10-old", 10);
        Add("s1", 1);
        Add("p10-new", 10);
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(["p10-old", "s1", "p10-new"], Drain());
    }

    [Fact]
    public void TryTake_DelayedTask_NotTakenBeforeDueThenTaken()
    {
        var due = Now + TimeSpan.FromSeconds(8);
        Assert.True(_queue.Add(new QueuedTask("retry", 10, "u1", Now), due));

        Assert.Null(_queue.TryTake(Now));
        Assert.Equal(due, _queue.NextDueAt);
        _time.SetUtcNow(due - TimeSpan.FromTicks(1));
        Assert.Null(_queue.TryTake(Now));
        Assert.True(_queue.Contains("retry"));

        _time.SetUtcNow(due);
        var taken = _queue.TryTake(Now);
        Assert.Equal("retry", taken?.TaskId);
        Assert.Equal(due, taken?.ReadyAt);
        Assert.Null(_queue.NextDueAt);
        Assert.Equal(0, _queue.Count);
    }

    [Fact]
    public void TryTake_DelayedHighPriorityNotDue_ReadyLowPriorityServed()
    {
        _queue.Add(new QueuedTask("retry", 10, "u1", Now), Now + TimeSpan.FromMinutes(1));
        Add("ready", 0);

        Assert.Equal("ready", _queue.TryTake(Now)?.TaskId);
        Assert.Null(_queue.TryTake(Now));
    }

    [Fact]
    public void TryTake_RetryDueBeforeALaterSubmission_RetryServedFirst()
    {
        // Regression: a due retry waited in the delayed heap until the next TryTake (none runs while every
        // slot is busy), so tasks submitted after it was due got ahead of it in its priority's FIFO.
        var start = Now;
        _queue.Add(new QueuedTask("retry", 3, "u1", start), start + TimeSpan.FromSeconds(10));
        _time.SetUtcNow(start + TimeSpan.FromSeconds(15));
        Add("submitted-later", 3);
        _time.SetUtcNow(start + TimeSpan.FromSeconds(20));

        Assert.Equal(["retry", "submitted-later"], Drain());
    }

    [Fact]
    public void TryTake_RetryDueBeforeNewerPriority_StarvationAgeCountedFromItsDueTime()
    {
        var start = Now;
        _queue.Add(new QueuedTask("retry", 0, "u1", start), start + TimeSpan.FromSeconds(10));
        _time.SetUtcNow(start + TimeSpan.FromSeconds(12));
        Add("standard-later", 0);
        Add("priority-later", 10);
        _time.SetUtcNow(start + TimeSpan.FromSeconds(41)); // the retry has been due for 31 s

        Assert.Equal(["retry", "priority-later", "standard-later"], Drain());
    }

    [Fact]
    public void Add_ReadyTaskWhileRetryNotYetDue_RetryStaysDelayed()
    {
        var start = Now;
        _queue.Add(new QueuedTask("retry", 3, "u1", start), start + TimeSpan.FromSeconds(10));
        _time.SetUtcNow(start + TimeSpan.FromSeconds(5));
        Add("ready", 3);

        Assert.Equal(["ready"], Drain());
        Assert.Equal(start + TimeSpan.FromSeconds(10), _queue.NextDueAt);
    }

    [Fact]
    public void Add_NotBeforeNotAfterReadyAt_ReadyAtOnce()
    {
        _queue.Add(new QueuedTask("past", 3, "u1", Now), Now - TimeSpan.FromSeconds(1));
        _queue.Add(new QueuedTask("same", 3, "u1", Now), Now);

        Assert.Null(_queue.NextDueAt);
        Assert.Equal(["past", "same"], Drain());
    }

    [Fact]
    public void NextDueAt_SeveralDelayed_Earliest()
    {
        _queue.Add(new QueuedTask("b", 1, "u1", Now), Now + TimeSpan.FromSeconds(20));
        _queue.Add(new QueuedTask("a", 1, "u1", Now), Now + TimeSpan.FromSeconds(5));

        Assert.Equal(Now + TimeSpan.FromSeconds(5), _queue.NextDueAt);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(["a", "b"], Drain());
    }

    [Fact]
    public void TryTake_DelayedStandard_AgesFromItsDueTimeNotItsFirstReadyTime()
    {
        var start = Now;
        _queue.Add(new QueuedTask("retry", 0, "u1", start), start + TimeSpan.FromSeconds(10));
        _time.SetUtcNow(start + TimeSpan.FromSeconds(20));
        _queue.Add(new QueuedTask("priority", 10, "u1", Now));
        _time.SetUtcNow(start + TimeSpan.FromSeconds(35)); // 35 s since first ready, only 25 s since due

        Assert.Equal(["priority", "retry"], Drain());
    }

    [Fact]
    public void Remove_ThenTryTake_SkipsTheRemovedTask()
    {
        Add("a", 5);
        Add("b", 5);
        Add("c", 5);

        Assert.True(_queue.Remove("b"));

        Assert.False(_queue.Contains("b"));
        Assert.Equal(2, _queue.Count);
        Assert.Equal(["a", "c"], Drain());
    }

    [Fact]
    public void Remove_HeadOfHigherPriority_NextPriorityServed()
    {
        Add("p10", 10);
        Add("p5", 5);

        _queue.Remove("p10");

        Assert.Equal(["p5"], Drain());
    }

    [Fact]
    public void Remove_StarvedStandard_NotChosenByTheGuard()
    {
        Add("standard", 0);
        Add("priority", 10);
        _time.Advance(TimeSpan.FromMinutes(2));

        _queue.Remove("standard");

        Assert.Equal(["priority"], Drain());
    }

    [Fact]
    public void Remove_DelayedTask_NeverTaken()
    {
        _queue.Add(new QueuedTask("retry", 2, "u1", Now), Now + TimeSpan.FromSeconds(5));

        Assert.True(_queue.Remove("retry"));
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Null(_queue.TryTake(Now));
        Assert.Equal(0, _queue.Count);
        Assert.Equal(0, _queue.CountIn(Lane.Standard));
    }

    [Fact]
    public void Remove_UnknownOrAlreadyRemoved_False()
    {
        Add("a", 1);

        Assert.False(_queue.Remove("nope"));
        Assert.True(_queue.Remove("a"));
        Assert.False(_queue.Remove("a"));
        Assert.Equal(0, _queue.CountIn(Lane.Standard));
    }

    [Fact]
    public void Add_SameIdTwice_SecondRefusedAndTakenOnce()
    {
        Add("a", 7);

        Assert.False(_queue.Add(new QueuedTask("a", 7, "u1", Now)));
        Assert.Equal(1, _queue.Count);
        Assert.Equal(["a"], Drain());
    }

    [Fact]
    public void CountIn_AfterAddTakeAndRemove_CountsPerLane()
    {
        Add("s0", 0);
        Add("s3", 3);
        Add("s4", 4);
        Add("p5", 5);
        Add("p9", 9);
        _queue.Add(new QueuedTask("p6-delayed", 6, "u1", Now), Now + TimeSpan.FromMinutes(1));

        Assert.Equal(3, _queue.CountIn(Lane.Standard));
        Assert.Equal(3, _queue.CountIn(Lane.Priority));
        Assert.Equal(6, _queue.Count);

        Assert.Equal("p9", _queue.TryTake(Now)?.TaskId);
        Assert.Equal(2, _queue.CountIn(Lane.Priority));

        _queue.Remove("s3");
        Assert.Equal(2, _queue.CountIn(Lane.Standard));
        Assert.Equal(4, _queue.Count);

        Drain();
        Assert.Equal(0, _queue.CountIn(Lane.Standard));
        Assert.Equal(1, _queue.CountIn(Lane.Priority)); // the delayed one is still waiting
        Assert.True(_queue.Contains("p6-delayed"));
    }

    [Fact]
    public void TryTake_ManyRandomTasksWithoutStarvation_MatchesTheReferenceOrder()
    {
        // Property-style check against the ordering rule written plainly: lane, then priority, then ready time.
        var queue = new ReadyQueue(TimeSpan.FromDays(1));
        var random = new Random(99);
        var tasks = new List<QueuedTask>();
        for (var i = 0; i < 500; i++)
        {
            var task = new QueuedTask($"t{i:000}", random.Next(0, 11), "u1", Now + TimeSpan.FromMilliseconds(i));
            tasks.Add(task);
            queue.Add(task);
        }
        var removed = tasks.Where((_, i) => i % 7 == 0).ToList();
        foreach (var task in removed)
        {
            queue.Remove(task.TaskId);
        }

        var expected = tasks.Except(removed).OrderByDescending(t => t.Priority).ThenBy(t => t.ReadyAt).Select(t => t.TaskId);
        var taken = new List<string>();
        while (queue.TryTake(Now + TimeSpan.FromSeconds(1)) is { } next)
        {
            taken.Add(next.TaskId);
        }

        Assert.Equal(expected, taken);
    }
}
