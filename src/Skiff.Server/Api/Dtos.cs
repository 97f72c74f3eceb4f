using System.Text.Json;
using System.Text.Json.Serialization;
using Skiff.Core.Tasks;

namespace Skiff.Server.Api;

/// <summary>The body of POST /tasks. Unknown fields are rejected so a typo never silently falls back to a default.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TaskRequest
{
    public string? Type { get; init; }
    public List<string>? Command { get; init; }
    /// <summary>Strings, numbers or booleans; passed to the workload as text.</summary>
    public Dictionary<string, JsonElement>? Parameters { get; init; }
    public string? Image { get; init; }
    public int? Priority { get; init; }
    public int? TimeoutSeconds { get; init; }
    public int? Cpu { get; init; }
    public int? MemoryMb { get; init; }
    public int? MaxAttempts { get; init; }
    public string? Network { get; init; }
    public int? PidsLimit { get; init; }
    public int? EphemeralStorageMb { get; init; }
    /// <summary>Numeric "uid" or "uid:gid"; root only where the server allows it.</summary>
    public string? User { get; init; }
    public Dictionary<string, string>? Env { get; init; }
    /// <summary>Environment variable name → secret name (the caller's own, else a shared one).</summary>
    public Dictionary<string, string>? Secrets { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
}

public sealed record TaskEventDocument(DateTimeOffset At, string Status, int Attempt, string? Reason);

public sealed record TaskDocument
{
    public required string TaskId { get; init; }
    public required string Status { get; init; }
    public bool DeadLettered { get; init; }
    public required string Queue { get; init; }
    public int Priority { get; init; }
    public required string UserId { get; init; }
    public string? Type { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }
    public required string Image { get; init; }
    public int TimeoutSeconds { get; init; }
    public int Cpu { get; init; }
    public int MemoryMb { get; init; }
    public required string Network { get; init; }
    public int PidsLimit { get; init; }
    public int EphemeralStorageMb { get; init; }
    public required string User { get; init; }
    public int Attempts { get; init; }
    public int MaxAttempts { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public DateTimeOffset? NextAttemptAt { get; init; }
    public long? DurationMs { get; init; }
    public int? ExitCode { get; init; }
    public string? Error { get; init; }
    public bool CancelRequested { get; init; }
    public IReadOnlyDictionary<string, string>? Env { get; init; }
    /// <summary>Which secret each variable gets: names only, never values.</summary>
    public IReadOnlyDictionary<string, string>? Secrets { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<TaskEventDocument>? Events { get; init; }

    public static TaskDocument From(TaskRecord task, bool withEvents) => new()
    {
        TaskId = task.TaskId,
        Status = task.Status.ToWire(),
        DeadLettered = task.DeadLettered,
        Queue = task.Spec.Lane.ToWire(),
        Priority = task.Spec.Priority,
        UserId = task.UserId,
        Type = task.Spec.Type,
        Command = task.Spec.Command,
        Parameters = task.Spec.Type is null ? null : task.Spec.Parameters,
        Image = task.Spec.Image,
        TimeoutSeconds = task.Spec.TimeoutSeconds,
        Cpu = task.Spec.Cpu,
        MemoryMb = task.Spec.MemoryMb,
        Network = task.Spec.Network,
        PidsLimit = task.Spec.PidsLimit,
        EphemeralStorageMb = task.Spec.EphemeralStorageMb,
        User = task.Spec.User,
        Attempts = task.Attempts,
        MaxAttempts = task.Spec.MaxAttempts,
        // A fresh task is precise in memory but stored to the millisecond: answer what GET will answer.
        CreatedAt = task.CreatedAt.AddTicks(-(task.CreatedAt.Ticks % TimeSpan.TicksPerMillisecond)),
        StartedAt = task.StartedAt,
        CompletedAt = task.CompletedAt,
        NextAttemptAt = task.Status == TaskState.Retrying ? task.NotBefore : null,
        DurationMs = task.DurationMs,
        ExitCode = task.ExitCode,
        Error = task.Error,
        CancelRequested = task.CancelRequested && !task.Status.IsTerminal(),
        Env = task.Spec.Env,
        Secrets = task.Spec.Secrets,
        Metadata = task.Spec.Metadata,
        Events = withEvents ? task.Events.Select(e => new TaskEventDocument(e.At, e.Status.ToWire(), e.Attempt, e.Reason)).ToList() : null,
    };
}

public sealed record TaskListDocument(IReadOnlyList<TaskDocument> Items, string? NextCursor);

public sealed record UsageDocument(long WallMs, long CpuMs, long PeakMemoryBytes);

public sealed record ArtifactDocument(string Path, long Size);

public sealed record ResultDocument(int? ExitCode, string StdoutTail, string StderrTail, UsageDocument Usage, IReadOnlyList<ArtifactDocument> Artifacts);

public sealed record QueueCountsDocument(int Standard, int Priority, long DeadLetter);

public sealed record WorkersDocument(int Current, int Desired, int Max);

public sealed record StoreHealthDocument(double LatencyMs, string? Error);

public sealed record HealthDocument(string Status, QueueCountsDocument Queues, int Running, WorkersDocument Workers, string Executor, bool Isolated, StoreHealthDocument Store);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(TaskRequest))]
[JsonSerializable(typeof(TaskDocument))]
[JsonSerializable(typeof(TaskListDocument))]
[JsonSerializable(typeof(ResultDocument))]
[JsonSerializable(typeof(HealthDocument))]
[JsonSerializable(typeof(Skiff.Server.Users.UserRequest))]
[JsonSerializable(typeof(Skiff.Server.Users.QuotaRequest))]
[JsonSerializable(typeof(Skiff.Server.Users.KeyRequest))]
[JsonSerializable(typeof(Skiff.Server.Users.UserDocument))]
[JsonSerializable(typeof(Skiff.Server.Users.UserListDocument))]
[JsonSerializable(typeof(Skiff.Server.Users.KeyListDocument))]
[JsonSerializable(typeof(Skiff.Server.Users.CreatedKeyDocument))]
[JsonSerializable(typeof(Skiff.Server.Audit.AuditListDocument))]
[JsonSerializable(typeof(Skiff.Server.Audit.AuditVerificationDocument))]
[JsonSerializable(typeof(Skiff.Server.Secrets.SecretRequest))]
[JsonSerializable(typeof(Skiff.Server.Secrets.SecretDocument))]
[JsonSerializable(typeof(Skiff.Server.Secrets.SecretListDocument))]
[JsonSerializable(typeof(Skiff.Server.Secrets.KeyRotation))]
[JsonSerializable(typeof(Skiff.Server.Images.ImageListDocument))]
[JsonSerializable(typeof(Skiff.Server.Images.ImageImportDocument))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails))]
internal sealed partial class ApiJson : JsonSerializerContext;
