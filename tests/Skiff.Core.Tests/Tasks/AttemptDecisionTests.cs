using Microsoft.Extensions.Time.Testing;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;

namespace Skiff.Core.Tests.Tasks;

public sealed class AttemptDecisionTests
{
    private static readonly RetryPolicy Retry = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private AttemptDecision Decide(AttemptOutcome outcome, int attempts, int maxAttempts = 3, bool cancelRequested = false,
        double unitRandom = 0.5, string? error = null) =>
        AttemptDecision.Decide(outcome, attempts, maxAttempts, cancelRequested, Retry, _time.GetUtcNow(), unitRandom, error);

    [Fact]
    public void Decide_Succeeded_SucceededNotDeadLettered()
    {
        var decision = Decide(AttemptOutcome.Succeeded, attempts: 1);

        Assert.Equal(TaskState.Succeeded, decision.Next);
        Assert.False(decision.DeadLetter);
        Assert.Null(decision.NotBefore);
        Assert.False(decision.RefundAttempt);
    }

    [Fact]
    public void Decide_SucceededOnLastAttempt_StillSucceeded()
    {
        var decision = Decide(AttemptOutcome.Succeeded, attempts: 3, maxAttempts: 3);

        Assert.Equal(TaskState.Succeeded, decision.Next);
        Assert.False(decision.DeadLetter);
    }

    [Theory]
    [InlineData(AttemptOutcome.Failed)]
    [InlineData(AttemptOutcome.TimedOut)]
    public void Decide_FailureWithAttemptsLeft_RetryingAfterBackoff(AttemptOutcome outcome)
    {
        var decision = Decide(outcome, attempts: 1, maxAttempts: 3, unitRandom: 0.5);

        Assert.Equal(TaskState.Retrying, decision.Next);
        Assert.False(decision.DeadLetter);
        Assert.False(decision.RefundAttempt);
        // Attempt 2's ceiling is the 2 s base; half of it with unitRandom 0.5.
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(1), decision.NotBefore);
    }

    [Fact]
    public void Decide_FailureLaterAttempt_BackoffUsesNextAttemptsCeiling()
    {
        var decision = Decide(AttemptOutcome.Failed, attempts: 4, maxAttempts: 10, unitRandom: 0.5);

        // Attempt 5: ceiling 2 s * 2^3 = 16 s.
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(8), decision.NotBefore);
        Assert.Equal(_time.GetUtcNow() + Retry.Delay(5, 0.5), decision.NotBefore);
    }

    [Fact]
    public void Decide_FailureWithError_ReasonCarriesTheError()
    {
        var decision = Decide(AttemptOutcome.Failed, attempts: 1, error: "exit code 3");

        Assert.Contains("exit code 3", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("retry 2 of 3", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AttemptOutcome.Failed, TaskState.Failed)]
    [InlineData(AttemptOutcome.TimedOut, TaskState.TimedOut)]
    public void Decide_FailureOnLastAttempt_DeadLetteredInItsFinalState(AttemptOutcome outcome, TaskState final)
    {
        var decision = Decide(outcome, attempts: 3, maxAttempts: 3);

        Assert.Equal(final, decision.Next);
        Assert.True(decision.DeadLetter);
        Assert.Null(decision.NotBefore);
        Assert.Contains("dead-lettered", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_FailureWithSingleAttemptAllowed_DeadLetteredAtOnce()
    {
        var decision = Decide(AttemptOutcome.Failed, attempts: 1, maxAttempts: 1);

        Assert.Equal(TaskState.Failed, decision.Next);
        Assert.True(decision.DeadLetter);
    }

    [Fact]
    public void Decide_AttemptsBeyondMax_DeadLettered()
    {
        // A task redriven or reconfigured so it already used more than it is allowed must not retry forever.
        var decision = Decide(AttemptOutcome.Failed, attempts: 5, maxAttempts: 3);

        Assert.True(decision.DeadLetter);
        Assert.Equal(TaskState.Failed, decision.Next);
    }

    [Fact]
    public void Decide_LeaseExpiredWithAttemptsLeft_RequeuedImmediatelyWithoutRefund()
    {
        var decision = Decide(AttemptOutcome.LeaseExpired, attempts: 2, maxAttempts: 3);

        Assert.Equal(TaskState.Queued, decision.Next);
        Assert.Null(decision.NotBefore);
        Assert.False(decision.DeadLetter);
        Assert.False(decision.RefundAttempt);
    }

    [Fact]
    public void Decide_LeaseExpiredOnLastAttempt_DeadLetteredAsFailed()
    {
        var decision = Decide(AttemptOutcome.LeaseExpired, attempts: 3, maxAttempts: 3);

        Assert.Equal(TaskState.Failed, decision.Next);
        Assert.True(decision.DeadLetter);
        Assert.Contains("lease expired", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Decide_Interrupted_RequeuedWithAttemptRefunded(int attempts)
    {
        // Even on the last attempt: a shutdown is not the task's fault, so it must not be dead-lettered.
        var decision = Decide(AttemptOutcome.Interrupted, attempts, maxAttempts: 3);

        Assert.Equal(TaskState.Queued, decision.Next);
        Assert.True(decision.RefundAttempt);
        Assert.False(decision.DeadLetter);
        Assert.Null(decision.NotBefore);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Decide_Cancelled_NeverRetried(int attempts)
    {
        var decision = Decide(AttemptOutcome.Cancelled, attempts, maxAttempts: 3);

        Assert.Equal(TaskState.Cancelled, decision.Next);
        Assert.False(decision.DeadLetter);
        Assert.Null(decision.NotBefore);
        Assert.False(decision.RefundAttempt);
    }

    [Theory]
    [InlineData(AttemptOutcome.Succeeded)]
    [InlineData(AttemptOutcome.Failed)]
    [InlineData(AttemptOutcome.TimedOut)]
    [InlineData(AttemptOutcome.Interrupted)]
    [InlineData(AttemptOutcome.LeaseExpired)]
    public void Decide_CancelRequested_WinsOverAnyOutcome(AttemptOutcome outcome)
    {
        foreach (var attempts in new[] { 1, 3 })
        {
            var decision = Decide(outcome, attempts, maxAttempts: 3, cancelRequested: true);

            Assert.Equal(TaskState.Cancelled, decision.Next);
            Assert.False(decision.DeadLetter);
            Assert.Null(decision.NotBefore);
            Assert.False(decision.RefundAttempt);
        }
    }

    [Fact]
    public void Decide_EveryCombination_IsALegalTransitionFromRunning()
    {
        // Stores refuse an attempt ending in a state Running cannot move to; Decide must never produce one.
        foreach (var outcome in Enum.GetValues<AttemptOutcome>())
        {
            for (var max = 1; max <= 4; max++)
            {
                for (var attempts = 1; attempts <= max + 1; attempts++)
                {
                    foreach (var cancel in new[] { false, true })
                    {
                        var decision = Decide(outcome, attempts, max, cancel);
                        Assert.True(TaskTransitions.IsLegal(TaskState.Running, decision.Next), $"{outcome} {attempts}/{max} cancel={cancel} → {decision.Next}");
                        Assert.Equal(decision.Next == TaskState.Retrying, decision.NotBefore is not null);
                        if (decision.DeadLetter)
                        {
                            Assert.True(decision.Next is TaskState.Failed or TaskState.TimedOut);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Decide_RetryNotBefore_NeverBeforeNowNorPastTheCeiling()
    {
        var random = new Random(1234);
        for (var i = 0; i < 1_000; i++)
        {
            var attempts = random.Next(1, 10);
            var decision = Decide(AttemptOutcome.Failed, attempts, maxAttempts: 10, unitRandom: random.NextDouble());
            var now = _time.GetUtcNow();
            Assert.NotNull(decision.NotBefore);
            Assert.InRange(decision.NotBefore!.Value, now, now + Retry.Ceiling(attempts + 1));
            _time.Advance(TimeSpan.FromSeconds(1));
        }
    }
}
