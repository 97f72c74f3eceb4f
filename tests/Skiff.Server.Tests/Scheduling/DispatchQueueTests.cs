using Microsoft.Extensions.Time.Testing;
using Skiff.Core.Tasks;
using Skiff.Server.Scheduling;
using Xunit;

namespace Skiff.Server.Tests.Scheduling;

/// <summary>Per-user running limits in the dispatch queue, without a server.</summary>
public sealed class DispatchQueueTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<string, int> _limits = new(StringComparer.Ordinal);
    private readonly DispatchQueue _queue;

    public DispatchQueueTests() => _queue = new DispatchQueue(TimeSpan.FromMinutes(1), new Limits(_limits));

    private DateTimeOffset Now => _time.GetUtcNow();

    private void Enqueue(string taskId, string userId, int priority = 3)
    {
        _queue.Enqueue(new TaskRecord
        {
            TaskId = taskId,
            UserId = userId,
            Spec = new TaskSpec { Command = ["true"], Priority = priority },
            Status = TaskState.Queued,
            CreatedAt = Now,
            ReadyAt = Now,
        });
        _time.Advance(TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public void TryTake_UserAtLimit_SkippedOthersTaken()
    {
        _limits["A"] = 1;
        Enqueue("a0", "A");
        Enqueue("a1", "A", priority: 9);
        Enqueue("b0", "B");
        Enqueue("b1", "B");

        Assert.Equal("a1", _queue.TryTake(Now)?.TaskId);
        Assert.Equal("b0", _queue.TryTake(Now)?.TaskId);
        Assert.Equal("b1", _queue.TryTake(Now)?.TaskId);
        Assert.Null(_queue.TryTake(Now));

        Assert.Equal(1, _queue.RunningFor("A"));
        Assert.Equal(2, _queue.RunningFor("B"));
        Assert.Equal(1, _queue.Count);
    }

    [Fact]
    public void Release_UserBelowLimitAgain_NextTaskEligibleAndDispatcherWoken()
    {
        _limits["A"] = 1;
        Enqueue("a0", "A");
        Enqueue("a1", "A");
        Assert.Equal("a0", _queue.TryTake(Now)?.TaskId);
        Assert.Null(_queue.TryTake(Now));
        Assert.True(_queue.WaitAsync(TimeSpan.Zero, _time, CancellationToken.None).AsTask().IsCompleted); // consume the enqueue's wake-up

        _queue.Release("A");

        Assert.True(_queue.WaitAsync(TimeSpan.FromHours(1), _time, CancellationToken.None).AsTask().IsCompleted, "Release wakes the dispatch loop");
        Assert.Equal(0, _queue.RunningFor("A"));
        Assert.Equal("a1", _queue.TryTake(Now)?.TaskId);
        Assert.Equal(1, _queue.RunningFor("A"));
    }

    [Fact]
    public void Release_StillAtALoweredLimit_StaysSkipped()
    {
        _limits["A"] = 2;
        Enqueue("a0", "A");
        Enqueue("a1", "A");
        Enqueue("a2", "A");
        Assert.NotNull(_queue.TryTake(Now));
        Assert.NotNull(_queue.TryTake(Now));

        _limits["A"] = 1;
        _queue.Release("A");

        Assert.Null(_queue.TryTake(Now));
        _queue.Release("A");
        Assert.Equal("a2", _queue.TryTake(Now)?.TaskId);
    }

    [Fact]
    public void LimitChanged_LimitRaisedForUserAtIt_TheirNextTaskTaken()
    {
        _limits["A"] = 1;
        Enqueue("a0", "A");
        Enqueue("a1", "A");
        Assert.Equal("a0", _queue.TryTake(Now)?.TaskId);
        Assert.Null(_queue.TryTake(Now));

        _limits["A"] = 2;
        _queue.LimitChanged("A");

        Assert.Equal("a1", _queue.TryTake(Now)?.TaskId);
        Assert.Equal(2, _queue.RunningFor("A"));
    }

    [Fact]
    public void TryTake_NoLimit_EveryTaskTakenAndCounted()
    {
        Enqueue("a0", "A");
        Enqueue("a1", "A");

        Assert.NotNull(_queue.TryTake(Now));
        Assert.NotNull(_queue.TryTake(Now));

        Assert.Equal(2, _queue.RunningFor("A"));
        _queue.Release("A");
        _queue.Release("A");
        Assert.Equal(0, _queue.RunningFor("A"));
    }

    [Fact]
    public void Remove_QueuedTaskOfUserAtLimit_GoneAfterRelease()
    {
        _limits["A"] = 1;
        Enqueue("a0", "A");
        Enqueue("a1", "A");
        Assert.Equal("a0", _queue.TryTake(Now)?.TaskId);
        Assert.Null(_queue.TryTake(Now));

        _queue.Remove("a1");
        _queue.Release("A");

        Assert.Null(_queue.TryTake(Now));
        Assert.Equal(0, _queue.Count);
    }

    private sealed class Limits(Dictionary<string, int> limits) : IUserLimits
    {
        public int MaxRunning(string userId) => limits.GetValueOrDefault(userId);
    }
}
