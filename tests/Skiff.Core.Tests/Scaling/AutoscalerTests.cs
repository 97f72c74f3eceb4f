using Skiff.Core.Scaling;

namespace Skiff.Core.Tests.Scaling;

public sealed class AutoscalerTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan ScaleIn = TimeSpan.FromSeconds(30);

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    [Fact]
    public void Counts_New_AllZeroButMax()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);

        Assert.Equal(new WorkerCounts(0, 0, 8), scaler.Counts);
        Assert.Equal(8, scaler.Max);
    }

    [Fact]
    public void Evaluate_NoWork_StaysAtZero()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);

        Assert.Equal(0, scaler.Evaluate(T0, running: 0, waiting: 0));
        Assert.Equal(new WorkerCounts(0, 0, 8), scaler.Counts);
    }

    [Fact]
    public void Evaluate_WorkWaiting_ScalesOutAtOnceToDesired()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);

        Assert.Equal(3, scaler.Evaluate(T0, running: 0, waiting: 3));
        Assert.Equal(new WorkerCounts(3, 3, 8), scaler.Counts);
    }

    [Fact]
    public void Evaluate_RunningPlusWaiting_DesiredCountsBoth()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);
        scaler.Evaluate(T0, running: 0, waiting: 2);

        Assert.Equal(5, scaler.Evaluate(At(1), running: 2, waiting: 3));
        Assert.Equal(new WorkerCounts(5, 5, 8), scaler.Counts);
    }

    [Fact]
    public void Evaluate_MoreWorkThanMax_CappedAtMax()
    {
        var scaler = new Autoscaler(4, TimeSpan.Zero, ScaleIn);

        Assert.Equal(4, scaler.Evaluate(T0, running: 0, waiting: 1_000));
        Assert.Equal(new WorkerCounts(4, 4, 4), scaler.Counts);
    }

    [Fact]
    public void Evaluate_HugeCounts_NoOverflow()
    {
        var scaler = new Autoscaler(100, TimeSpan.Zero, ScaleIn);

        Assert.Equal(100, scaler.Evaluate(T0, running: int.MaxValue, waiting: int.MaxValue));
    }

    [Fact]
    public void Evaluate_MaxZero_NeverScalesOut()
    {
        // An API-only server (--max-workers 0).
        var scaler = new Autoscaler(0, TimeSpan.Zero, ScaleIn);

        Assert.Equal(0, scaler.Evaluate(T0, running: 0, waiting: 10));
        Assert.Equal(new WorkerCounts(0, 0, 0), scaler.Counts);
    }

    [Fact]
    public void Evaluate_ScaleOutWithinCooldown_WaitsForItThenJumpsToDesired()
    {
        var scaler = new Autoscaler(10, TimeSpan.FromSeconds(10), ScaleIn);
        Assert.Equal(2, scaler.Evaluate(T0, running: 0, waiting: 2));

        Assert.Equal(2, scaler.Evaluate(At(5), running: 2, waiting: 4));
        Assert.Equal(new WorkerCounts(2, 6, 10), scaler.Counts);
        Assert.Equal(2, scaler.Evaluate(At(9.999), running: 2, waiting: 5));

        Assert.Equal(7, scaler.Evaluate(At(10), running: 2, waiting: 5));
        Assert.Equal(new WorkerCounts(7, 7, 10), scaler.Counts);
    }

    [Fact]
    public void Evaluate_FirstScaleOut_NotHeldByCooldown()
    {
        var scaler = new Autoscaler(10, TimeSpan.FromMinutes(5), ScaleIn);

        Assert.Equal(4, scaler.Evaluate(T0, running: 0, waiting: 4));
    }

    [Fact]
    public void Evaluate_WorkGoneBeforeScaleInCooldown_KeepsSlots()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);
        scaler.Evaluate(T0, running: 0, waiting: 4);

        Assert.Equal(4, scaler.Evaluate(At(29.999), running: 0, waiting: 0));
        Assert.Equal(new WorkerCounts(4, 0, 8), scaler.Counts);

        Assert.Equal(0, scaler.Evaluate(At(30), running: 0, waiting: 0));
        Assert.Equal(new WorkerCounts(0, 0, 8), scaler.Counts);
    }

    [Fact]
    public void Evaluate_ScaleInCooldown_CountsFromTheLastScaleOut()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);
        scaler.Evaluate(T0, running: 0, waiting: 2);
        scaler.Evaluate(At(20), running: 2, waiting: 2);

        Assert.Equal(4, scaler.Evaluate(At(40), running: 0, waiting: 0));
        Assert.Equal(0, scaler.Evaluate(At(50), running: 0, waiting: 0));
    }

    [Fact]
    public void Evaluate_ScaleIn_NeverBelowRunning()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);
        scaler.Evaluate(T0, running: 0, waiting: 6);

        Assert.Equal(3, scaler.Evaluate(At(30), running: 3, waiting: 0));
        Assert.Equal(new WorkerCounts(3, 3, 8), scaler.Counts);
    }

    [Fact]
    public void Evaluate_AfterAScaleIn_NextScaleInWaitsAFullCooldownAgain()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);
        scaler.Evaluate(T0, running: 0, waiting: 6);
        Assert.Equal(4, scaler.Evaluate(At(30), running: 4, waiting: 0));

        Assert.Equal(4, scaler.Evaluate(At(59), running: 1, waiting: 0));
        Assert.Equal(1, scaler.Evaluate(At(60), running: 1, waiting: 0));
    }

    [Fact]
    public void Evaluate_WorkReturnsRightAfterScaleIn_ScalesOutAtOnce()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);
        scaler.Evaluate(T0, running: 0, waiting: 4);
        Assert.Equal(0, scaler.Evaluate(At(30), running: 0, waiting: 0));

        Assert.Equal(2, scaler.Evaluate(At(30.001), running: 0, waiting: 2));
    }

    [Fact]
    public void Evaluate_WorkReturnsDuringScaleInWait_KeepsSlotsWithoutScaling()
    {
        var scaler = new Autoscaler(8, TimeSpan.Zero, ScaleIn);
        scaler.Evaluate(T0, running: 0, waiting: 4);
        scaler.Evaluate(At(10), running: 0, waiting: 0);

        Assert.Equal(4, scaler.Evaluate(At(20), running: 1, waiting: 3));
        Assert.Equal(new WorkerCounts(4, 4, 8), scaler.Counts);
    }
}
