using Microsoft.Extensions.Time.Testing;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;

namespace Skiff.Core.Tests.Queue;

/// <summary>Users take turns within a priority; a user refused by canStart waits aside until resumed.</summary>
public sealed class ReadyQueueFairnessTests
{
    private static readonly TimeSpan StarvationAge = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ReadyQueue _queue = new(StarvationAge);

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Adds a task of <paramref name="user"/> that became ready now, then moves the clock on a little.</summary>
    private void Add(string id, int priority, string user)
    {
        Assert.True(_queue.Add(new QueuedTask(id, priority, user, Now)));
        _time.Advance(TimeSpan.FromMilliseconds(10));
    }

    private List<string> Drain(Func<string, bool>? canStart = null)
    {
        var taken = new List<string>();
        while (_queue.TryTake(Now, canStart) is { } task)
        {
            taken.Add(task.TaskId);
        }
        return taken;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(10)]
    public void TryTake_OneUsersBacklogThenAnothersTask_OtherServedSecondAndBacklogStaysFifo(int priority)
    {
        for (var i = 0; i < 2000; i++)
        {
            Add($"a{i:0000}", priority, "A");
        }
        Add("b", priority, "B");

        var taken = Drain();

        Assert.Equal(["a0000", "b"], taken.Take(2));
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => $"a{i:0000}"), taken.Where(id => id != "b"));
    }

    [Fact]
    public void TryTake_UnevenBacklogs_RoundsInOrderOfArrival()
    {
        Add("a0", 3, "A");
        Add("a1", 3, "A");
        Add("a2", 3, "A");
        Add("b0", 3, "B");
        Add("b1", 3, "B");
        Add("c0", 3, "C");

        Assert.Equal(["a0", "b0", "c0", "a1", "b1", "a2"], Drain());
    }

    [Fact]
    public void TryTake_UserJustServed_GoesToTheBackBehindANewcomer()
    {
        Add("a0", 2, "A");
        Add("a1", 2, "A");
        Add("b0", 2, "B");
        Assert.Equal("a0", _queue.TryTake(Now)?.TaskId);

        Add("c0", 2, "C");

        Assert.Equal(["b0", "a1", "c0"], Drain());
    }

    [Fact]
    public void TryTake_UserLeavesAndReturns_JoinsAtTheBack()
    {
        Add("a0", 1, "A");
        Add("a1", 1, "A");
        Add("b0", 1, "B");
        Assert.Equal(["a0", "b0"], new[] { _queue.TryTake(Now)!.TaskId, _queue.TryTake(Now)!.TaskId });

        Add("c0", 1, "C");
        Add("b1", 1, "B");

        Assert.Equal(["a1", "c0", "b1"], Drain());
    }

    [Fact]
    public void TryTake_SeveralPriorities_HigherFirstAndTurnsWithinEach()
    {
        for (var i = 0; i < 4; i++)
        {
            Add($"a7-{i}", 7, "A");
            Add($"a2-{i}", 2, "A");
        }
        Add("b2", 2, "B");
        Add("b7", 7, "B");
        Add("c9", 9, "C");

        Assert.Equal(["c9", "a7-0", "b7", "a7-1", "a7-2", "a7-3", "a2-0", "b2", "a2-1", "a2-2", "a2-3"], Drain());
    }

    [Fact]
    public void TryTake_ManyUsersRandomPrioritiesWithRemovals_MatchesTheTurnOrder()
    {
        // The rule written plainly: priority first; within one, rounds over users in the order of their first
        // task there (removed ones included), each user's tasks in order. Checked against many users and removals.
        var queue = new ReadyQueue(TimeSpan.FromDays(1));
        var random = new Random(42);
        var tasks = new List<QueuedTask>();
        for (var i = 0; i < 3000; i++)
        {
            var task = new QueuedTask($"t{i:0000}", random.Next(0, 11), $"u{random.Next(0, 40)}", Now + TimeSpan.FromMilliseconds(i));
            tasks.Add(task);
            Assert.True(queue.Add(task));
        }
        var removed = tasks.Where((_, i) => i % 5 == 0).ToHashSet();
        foreach (var task in removed)
        {
            Assert.True(queue.Remove(task.TaskId));
        }
        Assert.Equal(tasks.Count - removed.Count, queue.Count);

        var expected = new List<string>();
        foreach (var level in tasks.GroupBy(t => t.Priority).OrderByDescending(g => g.Key))
        {
            var fifos = level.GroupBy(t => t.UserId).Select(u => u.Where(t => !removed.Contains(t)).ToList()).ToList();
            for (var round = 0; fifos.Any(f => f.Count > round); round++)
            {
                expected.AddRange(fifos.Where(f => f.Count > round).Select(f => f[round].TaskId));
            }
        }
        var taken = new List<string>();
        while (queue.TryTake(Now + TimeSpan.FromSeconds(10)) is { } next)
        {
            taken.Add(next.TaskId);
        }

        Assert.Equal(expected, taken);
    }

    [Fact]
    public void TryTake_StarvedStandardBacklog_UsersStillTakeTurns()
    {
        // A's old standard backlog is starved and older than the priority task: the guard serves the standard
        // lane, and there B's newer task still gets its turn right after A's first instead of after the backlog.
        for (var i = 0; i < 50; i++)
        {
            Add($"a{i:00}", 0, "A");
        }
        Add("b", 0, "B");
        _time.Advance(TimeSpan.FromSeconds(5));
        Add("p10", 10, "C");
        _time.Advance(TimeSpan.FromMinutes(5));

        var taken = Drain();

        Assert.Equal(["a00", "b", "a01"], taken.Take(3));
        Assert.Equal("p10", taken[^1]);
    }

    [Fact]
    public void TryTake_OnlyStandardTasksOfAnotherUserStarved_ServedBeforeNewerPriority()
    {
        Add("s0", 0, "A");
        _time.Advance(TimeSpan.FromSeconds(10));
        Add("p10", 10, "B");
        _time.Advance(TimeSpan.FromSeconds(21));

        Assert.Equal(["s0", "p10"], Drain());
    }

    [Fact]
    public void TryTake_StarvedStandardOlderThanOnlySomePriorityTasks_WaitsForTheOlderOnes()
    {
        Add("p10-old", 10, "A");
        Add("s1", 1, "B");
        Add("p10-new", 10, "C");
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(["p10-old", "s1", "p10-new"], Drain());
    }

    [Fact]
    public void Remove_HeadOfAUsersFifo_UserKeepsTheirTurn()
    {
        Add("a0", 4, "A");
        Add("a1", 4, "A");
        Add("b0", 4, "B");

        Assert.True(_queue.Remove("a0"));

        Assert.Equal(["a1", "b0"], Drain());
    }

    [Fact]
    public void Remove_AllOfOneUsersTasks_OthersServedAndCountsRight()
    {
        Add("a0", 6, "A");
        Add("b0", 6, "B");
        Add("a1", 6, "A");
        Add("b1", 1, "B");

        Assert.True(_queue.Remove("b0"));
        Assert.True(_queue.Remove("b1"));

        Assert.Equal(2, _queue.Count);
        Assert.Equal(2, _queue.CountIn(Lane.Priority));
        Assert.Equal(0, _queue.CountIn(Lane.Standard));
        Assert.Equal(["a0", "a1"], Drain());
    }

    [Fact]
    public void Add_SameTaskAgainAfterRemovedFromTheMiddle_TakenOnce()
    {
        // Regression guard: the removed entry stays in the FIFO until it reaches the head; it must not come
        // back to life when the same id is queued again.
        var task = new QueuedTask("x", 3, "A", Now);
        Add("first", 3, "A");
        Assert.True(_queue.Add(task));
        Add("after", 3, "A");

        Assert.True(_queue.Remove("x"));
        Assert.True(_queue.Add(task));

        Assert.Equal(["first", "after", "x"], Drain());
        Assert.Equal(0, _queue.Count);
    }

    [Fact]
    public void TryTake_DelayedRetryOfAnotherUser_JoinsTheTurnWhenDue()
    {
        var start = Now;
        for (var i = 0; i < 100; i++)
        {
            Add($"a{i:00}", 3, "A");
        }
        Assert.True(_queue.Add(new QueuedTask("b-retry", 3, "B", start), start + TimeSpan.FromSeconds(5)));

        Assert.Equal("a00", _queue.TryTake(Now)?.TaskId);
        Assert.Equal("a01", _queue.TryTake(Now)?.TaskId);
        _time.SetUtcNow(start + TimeSpan.FromSeconds(5));

        Assert.Equal(["a02", "b-retry", "a03"], new[] { _queue.TryTake(Now)!.TaskId, _queue.TryTake(Now)!.TaskId, _queue.TryTake(Now)!.TaskId });
    }

    [Fact]
    public void TryTake_UserRefusedByCanStart_SetAsideOthersServed()
    {
        Add("a0", 5, "A");
        Add("a1", 0, "A");
        Add("b0", 5, "B");
        Add("b1", 0, "B");
        var asked = new List<string>();

        var taken = Drain(user =>
        {
            asked.Add(user);
            return user != "A";
        });

        Assert.Equal(["b0", "b1"], taken);
        Assert.Equal(2, _queue.Count);
        // Set aside at the first refusal, A is not asked again on later takes.
        Assert.Equal(1, asked.Count(u => u == "A"));
    }

    [Fact]
    public void Resume_UserSetAside_TheirTasksInTurnAgainWithNewOnes()
    {
        Add("a0", 5, "A");
        Add("b0", 5, "B");
        Assert.Equal("b0", _queue.TryTake(Now, user => user != "A")?.TaskId);
        Assert.Null(_queue.TryTake(Now, user => user != "A"));

        // Added while set aside: waits with the rest of A's tasks, even when canStart would now say yes.
        Add("a1", 5, "A");
        Add("b1", 5, "B");
        Assert.Equal(["b1"], Drain(_ => true));

        _queue.Resume("A");

        Assert.Equal(["a0", "a1"], Drain(_ => true));
    }

    [Fact]
    public void TryTake_StarvedStandardOfUserSetAside_NotServedPriorityIs()
    {
        Add("a-old", 0, "A");
        _time.Advance(TimeSpan.FromSeconds(10));
        Add("p10", 10, "B");
        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(["p10"], Drain(user => user != "A"));
        _queue.Resume("A");
        Assert.Equal(["a-old"], Drain());
    }

    [Fact]
    public void Remove_TasksOfUserSetAside_RemovedAndCounted()
    {
        Add("a0", 2, "A");
        Add("a1", 2, "A");
        Assert.Null(_queue.TryTake(Now, _ => false));

        Assert.True(_queue.Remove("a0"));
        Assert.Equal(1, _queue.CountIn(Lane.Standard));
        _queue.Resume("A");

        Assert.Equal(["a1"], Drain());
        Assert.Equal(0, _queue.CountIn(Lane.Standard));
    }

    [Fact]
    public void Resume_UnknownOrNotSetAside_NothingChanges()
    {
        Add("a0", 2, "A");
        Add("b0", 2, "B");

        _queue.Resume("nobody");
        _queue.Resume("B");

        Assert.Equal(["a0", "b0"], Drain());
    }
}
