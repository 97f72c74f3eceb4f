using Skiff.EndToEnd.Tests.Infrastructure;
using Xunit;

namespace Skiff.EndToEnd.Tests.Durability;

/// <summary>Invariants every task's state history must satisfy, whatever happened to the server.</summary>
internal static class TaskHistoryAssert
{
    public const string LeaseExpired = "lease expired";

    /// <summary>
    /// The task ended, and exactly once: one terminal event, and it is the last one; every attempt that started
    /// ended before the next started; every lease that expired (the server died under the attempt) was followed by
    /// another attempt or by the dead-letter queue.
    /// </summary>
    public static void EndedExactlyOnce(TaskView task)
    {
        var events = task.History;
        Assert.True(task.IsTerminal, $"not terminal: {task}");
        Assert.True(events.Count(e => TaskView.TerminalStatuses.Contains(e.Status)) == 1, $"expected exactly one terminal event: {task}");
        Assert.True(events[^1].Status == task.Status, $"the last event must be the task's status: {task}");
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Status == "running" && i + 1 < events.Count)
            {
                Assert.True(events[i + 1].Status != "running", $"attempt {e.Attempt} started twice without ending: {task}");
            }
            if (e.Reason?.Contains(LeaseExpired, StringComparison.Ordinal) == true)
            {
                Assert.True(i > 0 && events[i - 1].Status == "running" && events[i - 1].Attempt == e.Attempt, $"a lease expired without a running attempt: {task}");
                var ranAgain = events.Skip(i + 1).Any(later => later.Status == "running" && later.Attempt == e.Attempt + 1);
                var deadLettered = task.DeadLettered && e.Reason.Contains("dead-lettered", StringComparison.Ordinal);
                Assert.True(ranAgain || deadLettered, $"after the lease expired the task neither ran again nor was dead-lettered: {task}");
            }
        }
    }

    public static bool HasLeaseExpired(TaskView task) =>
        task.History.Any(e => e.Reason?.Contains(LeaseExpired, StringComparison.Ordinal) == true);
}
