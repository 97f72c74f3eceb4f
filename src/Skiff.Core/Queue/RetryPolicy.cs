namespace Skiff.Core.Queue;

/// <summary>Exponential backoff with full jitter (AWS architecture blog's "full jitter").</summary>
public sealed record RetryPolicy
{
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The upper bound of the wait before attempt <paramref name="nextAttempt"/> (2, 3, ...).</summary>
    public TimeSpan Ceiling(int nextAttempt)
    {
        // Clamp before subtracting: nextAttempt - 2 overflows for int.MinValue and would jump to the cap.
        var exponent = Math.Clamp(nextAttempt, 2, 32) - 2;
        var ticks = BaseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>A uniformly random wait in [0, ceiling]; <paramref name="unitRandom"/> is in [0, 1).</summary>
    public TimeSpan Delay(int nextAttempt, double unitRandom) =>
        TimeSpan.FromTicks((long)(Ceiling(nextAttempt).Ticks * Math.Clamp(unitRandom, 0, 1)));
}
