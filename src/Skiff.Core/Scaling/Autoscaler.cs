namespace Skiff.Core.Scaling;

/// <summary>Worker slot counts as shown in /health and metrics.</summary>
public readonly record struct WorkerCounts(int Current, int Desired, int Max);

/// <summary>
/// Decides how many worker slots are active, between 0 and <see cref="Max"/>, from the work waiting.
/// Growing is immediate unless the last growth was within the scale-out cooldown; shrinking waits for
/// the scale-in cooldown after the last change, so a short lull does not tear slots down.
/// A running task always keeps its slot. Not thread-safe: the worker pool calls it under its lock.
/// </summary>
public sealed class Autoscaler(int max, TimeSpan scaleOutCooldown, TimeSpan scaleInCooldown)
{
    private DateTimeOffset _lastScaleOut = DateTimeOffset.MinValue;
    private DateTimeOffset _lastChange = DateTimeOffset.MinValue;

    public int Max { get; } = max;

    public int Current { get; private set; }

    public int Desired { get; private set; }

    public WorkerCounts Counts => new(Current, Desired, Max);

    /// <summary>Re-evaluates the slot count; returns the active slot count.</summary>
    public int Evaluate(DateTimeOffset now, int running, int waiting)
    {
        Desired = (int)Math.Min(Max, (long)running + waiting);
        if (Desired > Current && now - _lastScaleOut >= scaleOutCooldown)
        {
            Current = Desired;
            _lastScaleOut = now;
            _lastChange = now;
        }
        else if (Desired < Current && now - _lastChange >= scaleInCooldown)
        {
            Current = Math.Max(Desired, running);
            _lastChange = now;
        }
        return Current;
    }
}
