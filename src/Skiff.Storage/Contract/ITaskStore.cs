using Skiff.Core.Tasks;

namespace Skiff.Storage.Contract;

/// <summary>
/// The store is the truth: every state change is one transaction here, checked against
/// <see cref="TaskTransitions"/>. SQLite is the embedded default; PostgreSQL implements the same contract.
/// </summary>
public interface ITaskStore : IAsyncDisposable
{
    /// <summary>Creates the task, or returns the existing one for the same user and idempotency key.</summary>
    Task<CreateOutcome> CreateTaskAsync(NewTask task, CancellationToken cancellationToken);

    /// <summary>Waiting → running with attempt + 1 and a lease; fails when the task is no longer waiting.</summary>
    Task<LeaseOutcome> LeaseAsync(string taskId, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Heartbeat: pushes the lease of running tasks held by <paramref name="owner"/>.</summary>
    Task ExtendLeasesAsync(IReadOnlyCollection<string> taskIds, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Ends the attempt <paramref name="attempt"/> exactly once; a stale attempt (lease lost) is refused.</summary>
    Task<TransitionOutcome> CompleteAttemptAsync(AttemptCompletion completion, CancellationToken cancellationToken);

    /// <summary>Waiting → cancelled; a running task is flagged so its worker stops it.</summary>
    Task<CancelOutcome> CancelAsync(string taskId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Dead-lettered → queued with fresh attempts.</summary>
    Task<TransitionOutcome> RedriveAsync(string taskId, DateTimeOffset now, CancellationToken cancellationToken);

    Task AppendLogsAsync(string taskId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> terminal tasks completed before <paramref name="cutoff"/>, oldest first. Deletes
    /// nothing: retention removes their files first, so a crash never leaves files that no row points at.
    /// </summary>
    Task<IReadOnlyList<string>> ListCompletedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes, with their logs and results, those of <paramref name="taskIds"/> still completed before <paramref name="cutoff"/>
    /// (one redriven since they were listed stays); returns the ids deleted.
    /// </summary>
    Task<IReadOnlyList<string>> DeleteCompletedAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset cutoff, CancellationToken cancellationToken);

    Task<TaskRecord?> GetTaskAsync(string taskId, bool withEvents, CancellationToken cancellationToken);

    Task<TaskPage> ListTasksAsync(TaskQuery query, CancellationToken cancellationToken);

    Task<TaskPage> ListDeadLetteredAsync(string? userId, long? cursor, int limit, CancellationToken cancellationToken);

    /// <summary>Lines after <paramref name="afterLineNo"/>, in order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<LogLine>> ReadLogsAsync(string taskId, long afterLineNo, int limit, CancellationToken cancellationToken);

    Task<long> LastLogLineNoAsync(string taskId, CancellationToken cancellationToken);

    Task<TaskResult?> GetResultAsync(string taskId, CancellationToken cancellationToken);

    /// <summary>All waiting tasks, oldest first: rebuilds the in-memory ready index at start.</summary>
    Task<IReadOnlyList<TaskRecord>> LoadWaitingAsync(CancellationToken cancellationToken);

    /// <summary>Running tasks whose lease expired before <paramref name="now"/>, or that <paramref name="owner"/> held.</summary>
    Task<IReadOnlyList<TaskRecord>> LoadExpiredLeasesAsync(DateTimeOffset now, string? owner, CancellationToken cancellationToken);

    Task<StoreCounts> CountAsync(CancellationToken cancellationToken);

    /// <summary>A trivial round trip, timed by /health.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    IKeyStore Keys { get; }

    ISecretStore Secrets { get; }

    IAuditStore Audit { get; }
}

public sealed record NewTask(string TaskId, string UserId, TaskSpec Spec, DateTimeOffset CreatedAt, string? IdempotencyKey);

public sealed record CreateOutcome(TaskRecord Task, bool Created);

public enum TransitionResult
{
    Applied,
    NotFound,
    /// <summary>The task is not in a state that allows this change.</summary>
    Conflict,
}

public sealed record TransitionOutcome(TransitionResult Result, TaskRecord? Task)
{
    public bool Applied => Result == TransitionResult.Applied;
}

public sealed record LeaseOutcome(TransitionResult Result, TaskRecord? Task)
{
    public bool Applied => Result == TransitionResult.Applied;
}

public enum CancelResult
{
    Cancelled,
    /// <summary>Flagged: the worker running it must stop it.</summary>
    CancelRequested,
    NotFound,
    AlreadyTerminal,
}

public sealed record CancelOutcome(CancelResult Result, TaskRecord? Task);

public sealed record AttemptCompletion(
    string TaskId,
    int Attempt,
    string? LeaseOwner,
    AttemptDecision Decision,
    DateTimeOffset At,
    int? ExitCode,
    string? Error,
    TaskResult? Result);

public sealed record TaskQuery(TaskState? Status, string? UserId, int? Priority, long? Cursor, int Limit);

/// <summary>A page of tasks; <see cref="NextCursor"/> is opaque to clients (a keyset position).</summary>
public sealed record TaskPage(IReadOnlyList<TaskRecord> Items, long? NextCursor);

public sealed record StoreCounts(long DeadLettered, long Total);
