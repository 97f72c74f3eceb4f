using Skiff.Core.Queue;

namespace Skiff.Core.Tests.Queue;

public sealed class RetryPolicyTests
{
    private static readonly RetryPolicy Policy = new();

    [Fact]
    public void Defaults_BaseTwoSecondsCapFiveMinutes()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), Policy.BaseDelay);
        Assert.Equal(TimeSpan.FromMinutes(5), Policy.MaxDelay);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 16)]
    [InlineData(6, 32)]
    [InlineData(7, 64)]
    [InlineData(8, 128)]
    [InlineData(9, 256)]
    [InlineData(10, 300)]
    [InlineData(11, 300)]
    [InlineData(100, 300)]
    [InlineData(int.MaxValue, 300)]
    public void Ceiling_NextAttempt_DoublesFromTwoSecondsAndCapsAtFiveMinutes(int nextAttempt, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Policy.Ceiling(nextAttempt));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(int.MinValue)]
    public void Ceiling_AttemptBelowTwo_BaseDelay(int nextAttempt)
    {
        Assert.Equal(TimeSpan.FromSeconds(2), Policy.Ceiling(nextAttempt));
    }

    [Fact]
    public void Ceiling_ConsecutiveAttempts_DoubleUntilTheCapThenStay()
    {
        for (var attempt = 2; attempt < 200; attempt++)
        {
            var expected = TimeSpan.FromTicks(Math.Min(Policy.Ceiling(attempt).Ticks * 2, Policy.MaxDelay.Ticks));
            Assert.Equal(expected, Policy.Ceiling(attempt + 1));
        }
    }

    [Fact]
    public void Delay_ManyAttemptsAndRandoms_WithinZeroAndCeiling()
    {
        var random = new Random(20250301);
        for (var attempt = 1; attempt <= 64; attempt++)
        {
            var ceiling = Policy.Ceiling(attempt);
            for (var i = 0; i < 2_000; i++)
            {
                var delay = Policy.Delay(attempt, random.NextDouble());
                Assert.InRange(delay, TimeSpan.Zero, ceiling);
            }
        }
    }

    [Fact]
    public void Delay_UniformRandoms_SpreadOverTheWholeRange()
    {
        // Full jitter: the waits cover [0, ceiling] evenly, not clustered near the ceiling (that would be "equal jitter").
        var random = new Random(7);
        var ceiling = Policy.Ceiling(6);
        var delays = Enumerable.Range(0, 10_000).Select(_ => Policy.Delay(6, random.NextDouble()).Ticks / (double)ceiling.Ticks).ToArray();

        Assert.InRange(delays.Average(), 0.47, 0.53);
        Assert.InRange(delays.Min(), 0, 0.01);
        Assert.InRange(delays.Max(), 0.99, 1);
        Assert.InRange(delays.Count(d => d < 0.25), 2_300, 2_700);
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.25, 1)]
    [InlineData(0.5, 2)]
    [InlineData(0.75, 3)]
    public void Delay_UnitRandom_ScalesTheCeilingLinearly(double unitRandom, int seconds)
    {
        // Attempt 4's ceiling is 8 s.
        Assert.Equal(TimeSpan.FromSeconds(seconds) * 2, Policy.Delay(4, unitRandom));
    }

    [Fact]
    public void Delay_RandomJustBelowOne_AtMostTheCeiling()
    {
        var delay = Policy.Delay(20, Math.BitDecrement(1.0));

        Assert.True(delay <= TimeSpan.FromMinutes(5));
        Assert.True(delay > TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
    }

    [Theory]
    [InlineData(-1.0, 0)]
    [InlineData(1.0, 8)]
    [InlineData(5.0, 8)]
    public void Delay_RandomOutsideUnitRange_ClampedIntoTheRange(double unitRandom, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Policy.Delay(4, unitRandom));
    }

    [Fact]
    public void Ceiling_CustomBaseAndCap_Respected()
    {
        var policy = new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1) };

        Assert.Equal(TimeSpan.FromMilliseconds(100), policy.Ceiling(2));
        Assert.Equal(TimeSpan.FromMilliseconds(800), policy.Ceiling(5));
        Assert.Equal(TimeSpan.FromSeconds(1), policy.Ceiling(6));
        Assert.Equal(TimeSpan.FromSeconds(1), policy.Ceiling(1_000));
    }
}
