using Skiff.Core.Queue;

namespace Skiff.Core.Tasks;

/// <summary>How one attempt ended, as the executor saw it.</summary>
public enum AttemptOutcome
{
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    /// <summary>The server is shutting down: the attempt does not count as the task's fault.</summary>
    Interrupted,
    /// <summary>The worker holding the lease went away (crash, kill -9).</summary>
    LeaseExpired,
}

/// <summary>Where the task goes after an attempt: retry, final state, dead-letter queue.</summary>
public sealed record AttemptDecision(TaskState Next, bool DeadLetter, DateTimeOffset? NotBefore, string Reason)
{
    /// <summary>The attempt is given back (it was interrupted by a shutdown, not used up by the task).</summary>
    public bool RefundAttempt { get; init; }

    /// <summary>
    /// The one place that turns an attempt's outcome into the task's next state. Cancelled tasks are
    /// never retried; an interrupted attempt (graceful shutdown) goes back to its lane without waiting.
    /// </summary>
    public static AttemptDecision Decide(
        AttemptOutcome outcome, int attempts, int maxAttempts, bool cancelRequested,
        RetryPolicy retry, DateTimeOffset now, double unitRandom, string? error)
    {
        if (cancelRequested || outcome == AttemptOutcome.Cancelled)
        {
            return new(TaskState.Cancelled, false, null, "cancelled");
        }
        switch (outcome)
        {
            case AttemptOutcome.Succeeded:
                return new(TaskState.Succeeded, false, null, "exited 0");
            case AttemptOutcome.Interrupted:
                return new(TaskState.Queued, false, null, "requeued: server shutting down") { RefundAttempt = true };
        }
        var failedAs = outcome == AttemptOutcome.TimedOut ? TaskState.TimedOut : TaskState.Failed;
        var why = error ?? (outcome == AttemptOutcome.TimedOut ? "timed out" : outcome == AttemptOutcome.LeaseExpired ? "lease expired" : "failed");
        if (attempts >= maxAttempts)
        {
            return new(failedAs, true, null, $"{why}; attempt {attempts} of {maxAttempts}, dead-lettered");
        }
        if (outcome == AttemptOutcome.LeaseExpired)
        {
            // The worker died; the task did nothing wrong, so it goes straight back to its lane.
            return new(TaskState.Queued, false, null, $"{why}; requeued for attempt {attempts + 1}");
        }
        var delay = retry.Delay(attempts + 1, unitRandom);
        return new(TaskState.Retrying, false, now + delay, $"{why}; retry {attempts + 1} of {maxAttempts} in {delay.TotalSeconds:0.###}s");
    }
}
