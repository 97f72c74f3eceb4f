namespace Skiff.Core.Tasks;

/// <summary>
/// The one definition of which state changes are legal. Stores check every transition against it
/// inside the same transaction that writes it, so an illegal change can never be persisted.
/// </summary>
public static class TaskTransitions
{
    public static bool IsLegal(TaskState from, TaskState to, bool deadLettered = false) => (from, to) switch
    {
        // A worker leases a waiting task.
        (TaskState.Queued or TaskState.Retrying, TaskState.Running) => true,
        // The user cancels before it ran.
        (TaskState.Queued or TaskState.Retrying, TaskState.Cancelled) => true,
        // An attempt ends: success, final failure, retry after backoff, or cancel.
        (TaskState.Running, TaskState.Succeeded or TaskState.Failed or TaskState.TimedOut
            or TaskState.Retrying or TaskState.Cancelled) => true,
        // Lease expired (worker died) or graceful shutdown handed the task back.
        (TaskState.Running, TaskState.Queued) => true,
        // Redrive: only dead-lettered tasks leave a final failure.
        (TaskState.Failed or TaskState.TimedOut, TaskState.Queued) => deadLettered,
        _ => false,
    };
}
