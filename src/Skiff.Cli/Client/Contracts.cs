using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skiff.Cli.Client;

/// <summary>Body of <c>POST /tasks</c>. Null members are left out so the server applies its defaults.</summary>
internal sealed record SubmitTaskRequest
{
    public string? Type { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }
    public string? Image { get; init; }
    public int? Priority { get; init; }
    public int? TimeoutSeconds { get; init; }
    public int? Cpu { get; init; }
    public int? MemoryMb { get; init; }
    public int? MaxAttempts { get; init; }
    public int? PidsLimit { get; init; }
    public int? EphemeralStorageMb { get; init; }
    public string? User { get; init; }
    public IReadOnlyDictionary<string, string>? Env { get; init; }
    /// <summary>Environment variable name → secret name.</summary>
    public IReadOnlyDictionary<string, string>? Secrets { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// A task as the API returns it. Members the CLI does not know are kept in <see cref="Extra"/> so
/// <c>--json</c> shows everything the server sent, even from a newer server.
/// </summary>
internal sealed record TaskDocument
{
    public string TaskId { get; init; } = "";
    public string Status { get; init; } = "";
    public bool DeadLettered { get; init; }
    public string? Queue { get; init; }
    public int? Priority { get; init; }
    public string? UserId { get; init; }
    public string? Type { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }
    public string? Image { get; init; }
    public int? TimeoutSeconds { get; init; }
    public int? Cpu { get; init; }
    public int? MemoryMb { get; init; }
    public int Attempts { get; init; }
    public int? MaxAttempts { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public long? DurationMs { get; init; }
    public int? ExitCode { get; init; }
    public string? Error { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public IReadOnlyList<TaskEventDocument>? Events { get; init; }

    // A settable property: System.Text.Json cannot fill extension data through an init-only setter.
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record TaskEventDocument
{
    public DateTimeOffset At { get; init; }
    public string Status { get; init; } = "";
    public int Attempt { get; init; }
    public string? Reason { get; init; }
}

/// <summary>One page of <c>GET /tasks</c> or <c>GET /dead-letter</c>.</summary>
internal sealed record TaskPage
{
    public IReadOnlyList<TaskDocument> Items { get; init; } = [];
    public string? NextCursor { get; init; }
}

/// <summary><c>GET /tasks/{id}/result</c>: what the last finished attempt produced.</summary>
internal sealed record TaskResultDocument
{
    public int? ExitCode { get; init; }
    public string? StdoutTail { get; init; }
    public string? StderrTail { get; init; }
    public UsageDocument? Usage { get; init; }
    public IReadOnlyList<ArtifactDocument>? Artifacts { get; init; }
}

internal sealed record UsageDocument
{
    public long? WallMs { get; init; }
    public long? CpuMs { get; init; }
    public long? PeakMemoryBytes { get; init; }
}

internal sealed record ArtifactDocument
{
    public string Path { get; init; } = "";
    public long Size { get; init; }
}

/// <summary><c>GET /health</c>. Only what the CLI shows; everything is optional.</summary>
internal sealed record HealthDocument
{
    public string? Status { get; init; }
    public int? Running { get; init; }
    public string? Executor { get; init; }
    public WorkersDocument? Workers { get; init; }
}

internal sealed record WorkersDocument
{
    public int? Current { get; init; }
    public int? Desired { get; init; }
    public int? Max { get; init; }
}

/// <summary>RFC 9457 problem details, as every API error is answered.</summary>
internal sealed record ProblemDocument
{
    public string? Type { get; init; }
    public string? Title { get; init; }
    public int? Status { get; init; }
    public string? Detail { get; init; }
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }
}
