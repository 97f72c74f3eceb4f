namespace Skiff.Core.Tasks;

/// <summary>A task as stored: the spec plus where it stands.</summary>
public sealed record TaskRecord
{
    public required string TaskId { get; init; }
    public required string UserId { get; init; }
    public required TaskSpec Spec { get; init; }
    public TaskState Status { get; init; }
    public bool DeadLettered { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset ReadyAt { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public int? ExitCode { get; init; }
    public string? Error { get; init; }
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    public bool CancelRequested { get; init; }
    public IReadOnlyList<TaskEvent> Events { get; init; } = [];

    public long? DurationMs => StartedAt is { } s && CompletedAt is { } c ? (long)(c - s).TotalMilliseconds : null;
}

/// <summary>One entry of a task's state history.</summary>
public sealed record TaskEvent(DateTimeOffset At, TaskState Status, int Attempt, string? Reason);

public sealed record TaskUsage(long WallMs, long CpuMs, long PeakMemoryBytes);

public sealed record TaskArtifact(string Path, long Size);

/// <summary>What the last attempt produced.</summary>
public sealed record TaskResult(
    int? ExitCode,
    string StdoutTail,
    string StderrTail,
    TaskUsage Usage,
    IReadOnlyList<TaskArtifact> Artifacts,
    string? OutputDirectory);

public enum LogStream
{
    Stdout = 1,
    Stderr = 2,
    System = 3,
}

public sealed record LogLine(long LineNo, DateTimeOffset At, LogStream Stream, int Attempt, string Text);
