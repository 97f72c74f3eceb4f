using Skiff.Core.Tasks;
using Skiff.Server.Auth;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Scheduling;

/// <summary>
/// What the API does with tasks, independent of HTTP: every call is checked against the caller (a user
/// sees only their own tasks; an admin sees all), then goes to the store and the dispatch queue.
/// </summary>
internal sealed class TaskService(
    ITaskStore store,
    DispatchQueue queue,
    EmbeddedWorker worker,
    SkiffMetrics metrics,
    TimeProvider time)
{
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(10);

    public async Task<CreateOutcome> SubmitAsync(TaskSpec spec, SkiffPrincipal caller, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var outcome = await store.CreateTaskAsync(new NewTask(TaskIds.New(now), caller.UserId, spec, now, idempotencyKey), cancellationToken);
        if (outcome.Created)
        {
            queue.Enqueue(outcome.Task);
            metrics.Submitted.Add(1, new KeyValuePair<string, object?>("queue", spec.Lane.ToWire()));
        }
        return outcome;
    }

    public async Task<TaskRecord?> GetAsync(string taskId, SkiffPrincipal caller, bool withEvents, CancellationToken cancellationToken)
    {
        if (!TaskIds.IsWellFormed(taskId))
        {
            return null;
        }
        var task = await store.GetTaskAsync(taskId, withEvents, cancellationToken);
        return task is not null && caller.CanSee(task.UserId) ? task : null;
    }

    public Task<TaskPage> ListAsync(TaskQuery query, SkiffPrincipal caller, CancellationToken cancellationToken) =>
        store.ListTasksAsync(caller.IsAdmin ? query : query with { UserId = caller.UserId }, cancellationToken);

    public Task<TaskPage> ListDeadLetteredAsync(SkiffPrincipal caller, long? cursor, int limit, CancellationToken cancellationToken) =>
        store.ListDeadLetteredAsync(caller.IsAdmin ? null : caller.UserId, cursor, limit, cancellationToken);

    public async Task<CancelOutcome> CancelAsync(string taskId, SkiffPrincipal caller, CancellationToken cancellationToken)
    {
        if (await GetAsync(taskId, caller, withEvents: false, cancellationToken) is not { } task)
        {
            return new CancelOutcome(CancelResult.NotFound, null);
        }
        var outcome = await store.CancelAsync(taskId, time.GetUtcNow(), cancellationToken);
        switch (outcome.Result)
        {
            case CancelResult.Cancelled:
                queue.Remove(taskId);
                metrics.Completed.Add(1, new KeyValuePair<string, object?>("status", TaskState.Cancelled.ToWire()));
                break;
            case CancelResult.CancelRequested when worker.TryStop(taskId):
                // Answer with the final state when the process is gone quickly, as it normally is.
                try
                {
                    await worker.WaitForAsync(taskId, CancelWait, cancellationToken);
                }
                catch (TimeoutException)
                {
                    // Still stopping: the caller sees "running" with cancellation under way.
                }
                return outcome with { Task = await store.GetTaskAsync(taskId, withEvents: true, cancellationToken) };
        }
        return outcome with { Task = await store.GetTaskAsync(taskId, withEvents: true, cancellationToken) };
    }

    public async Task<TransitionOutcome> RedriveAsync(string taskId, SkiffPrincipal caller, CancellationToken cancellationToken)
    {
        if (await GetAsync(taskId, caller, withEvents: false, cancellationToken) is null)
        {
            return new TransitionOutcome(TransitionResult.NotFound, null);
        }
        var outcome = await store.RedriveAsync(taskId, time.GetUtcNow(), cancellationToken);
        if (outcome.Applied)
        {
            queue.Enqueue(outcome.Task!);
        }
        return outcome;
    }

    /// <summary>Rebuilds the in-memory ready queue from the store (at start).</summary>
    public async Task<int> RebuildQueueAsync(CancellationToken cancellationToken)
    {
        var waiting = await store.LoadWaitingAsync(cancellationToken);
        foreach (var task in waiting)
        {
            queue.Enqueue(task);
        }
        return waiting.Count;
    }
}
