namespace Skiff.Core.Tasks;

/// <summary>The states a task moves through. Wire names are snake_case (see <see cref="TaskStateNames"/>).</summary>
public enum TaskState
{
    Queued,
    Running,
    Retrying,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

public static class TaskStateNames
{
    private static readonly string[] Names = ["queued", "running", "retrying", "succeeded", "failed", "timed_out", "cancelled"];

    public static string ToWire(this TaskState status) => Names[(int)status];

    public static bool TryParse(string? value, out TaskState status)
    {
        var index = Array.IndexOf(Names, value);
        status = index < 0 ? default : (TaskState)index;
        return index >= 0;
    }

    public static string AllNames => string.Join(", ", Names);

    public static bool IsTerminal(this TaskState status) =>
        status is TaskState.Succeeded or TaskState.Failed or TaskState.TimedOut or TaskState.Cancelled;

    /// <summary>Waiting for a worker: ready now (queued) or after a backoff (retrying).</summary>
    public static bool IsWaiting(this TaskState status) => status is TaskState.Queued or TaskState.Retrying;
}
