using System.Globalization;
using Skiff.Core.Tasks;

namespace Skiff.Runtime.Execution;

/// <summary>Pieces every executor needs the same way: timeouts, bounded waits and results of attempts that never ran.</summary>
internal static class ExecutionSupport
{
    // CancellationTokenSource timers take at most uint.MaxValue - 1 milliseconds (about 49 days).
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);

    /// <summary>A source that fires when the attempt's timeout elapses (never, for an infinite or huge one).</summary>
    public static CancellationTokenSource CreateTimeout(TimeSpan timeout, TimeProvider timeProvider) =>
        timeout == Timeout.InfiniteTimeSpan || timeout > MaxTimerDelay
            ? new CancellationTokenSource()
            : new CancellationTokenSource(timeout, timeProvider);

    /// <summary>Waits for <paramref name="task"/> at most <paramref name="bound"/>; false when it did not finish in time.</summary>
    public static async Task<bool> WaitBoundedAsync(Task task, TimeSpan bound, TimeProvider timeProvider)
    {
        try
        {
            await task.WaitAsync(bound, timeProvider).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>An action that cancels <paramref name="source"/>, harmless after it was disposed.</summary>
    public static Action CancelAction(CancellationTokenSource source) => () =>
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // An abandoned pump failing after the attempt was reported.
        }
    };

    /// <summary>"30s" or "1500ms", as timeouts are named in errors.</summary>
    public static string Describe(TimeSpan timeout) =>
        timeout.TotalMilliseconds % 1000 == 0
            ? ((long)timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
            : ((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    public static ExecutionResult NotRun(ExecutionStatus status, string error) =>
        new(status, null, error, new TaskUsage(0, 0, 0), "", "");
}
