using Skiff.Core.Tasks;

namespace Skiff.Cli;

/// <summary>Process exit codes of <c>skiff</c>, following shell conventions.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>What timeout(1) returns when the command timed out.</summary>
    public const int TimedOut = 124;

    /// <summary>128 + SIGINT: the task was cancelled, or the user pressed Ctrl+C.</summary>
    public const int Cancelled = 130;

    /// <summary>
    /// The exit code of <c>skiff submit --wait</c>, so scripts can treat a remote run like a local one:
    /// <list type="bullet">
    /// <item>succeeded → the task's exit code (0);</item>
    /// <item>timed_out → 124 and cancelled → 130 even when the task has an exit code: that code is only the
    /// signal that killed it (137), and a timeout must be told apart from a crash, as timeout(1) does;</item>
    /// <item>failed → the task's exit code, or 1 when it has none or it is 0 (it exited 0 and failed later,
    /// e.g. collecting artifacts): a task that did not succeed never maps to 0.</item>
    /// </list>
    /// </summary>
    public static int ForTask(string status, int? exitCode)
    {
        if (!TaskStateNames.TryParse(status, out var state))
        {
            return Failure;
        }

        return state switch
        {
            TaskState.Succeeded => exitCode is { } code and >= 0 and <= 255 ? code : Success,
            TaskState.TimedOut => TimedOut,
            TaskState.Cancelled => Cancelled,
            _ => exitCode is { } code and not 0 ? ToProcessExitCode(code) : Failure,
        };
    }

    /// <summary>
    /// A process exit status must fit in 0..255: a negative code (a process killed by signal N, as .NET
    /// reports it) becomes 128 + N like in a shell; anything else out of range becomes 1.
    /// </summary>
    private static int ToProcessExitCode(int code) => code switch
    {
        > 0 and <= 255 => code,
        < 0 and >= -127 => 128 - code,
        _ => Failure,
    };
}
