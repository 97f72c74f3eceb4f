using System.Text.Json.Serialization;

namespace Skiff.Core.Tasks;

/// <summary>What the user asked to run. Immutable once accepted.</summary>
public sealed record TaskSpec
{
    public string? Type { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = Empty;
    public string Image { get; init; } = TaskDefaults.Image;
    public int Priority { get; init; }
    public int TimeoutSeconds { get; init; } = TaskDefaults.TimeoutSeconds;
    public int Cpu { get; init; } = TaskDefaults.Cpu;
    public int MemoryMb { get; init; } = TaskDefaults.MemoryMb;
    public int MaxAttempts { get; init; } = TaskDefaults.MaxAttempts;
    public string Network { get; init; } = TaskDefaults.Network;

    /// <summary>The most processes (threads included) the task may have at once.</summary>
    public int PidsLimit { get; init; } = TaskDefaults.PidsLimit;

    /// <summary>The size cap of the task's writable scratch space (its /tmp).</summary>
    public int EphemeralStorageMb { get; init; } = TaskDefaults.EphemeralStorageMb;

    /// <summary>Numeric <c>"uid"</c> or <c>"uid:gid"</c> (see <see cref="TaskUser"/>).</summary>
    public string User { get; init; } = TaskDefaults.User;

    public IReadOnlyDictionary<string, string> Env { get; init; } = Empty;

    /// <summary>Environment variable name → secret name. Only names: values are resolved when an attempt starts.</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = Empty;

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Empty;

    [JsonIgnore]
    public Lane Lane => LaneOf(Priority);

    public static Lane LaneOf(int priority) => priority >= TaskDefaults.PriorityLaneMin ? Lane.Priority : Lane.Standard;

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();
}

public enum Lane
{
    Standard,
    Priority,
}

public static class TaskDefaults
{
    public const string Image = "busybox";
    public const string Network = "none";
    public const int TimeoutSeconds = 300;
    public const int Cpu = 256;
    public const int MemoryMb = 512;
    public const int MaxAttempts = 3;
    public const int PriorityLaneMin = 5;
    public const int MinPriority = 0;
    public const int MaxPriority = 10;
    public const int MinTimeoutSeconds = 1;
    public const int MaxTimeoutSeconds = 86_400;
    public const int MinCpu = 128;
    public const int MaxCpu = 4096;
    public const int MinMemoryMb = 16;
    public const int MaxMemoryMb = 65_536;
    public const int MinMaxAttempts = 1;
    public const int MaxMaxAttempts = 10;
    public const int MaxMetadataBytes = 8 * 1024;
    public const int MaxCommandArgs = 1024;
    public const int PidsLimit = 256;
    public const int EphemeralStorageMb = 1024;
    public const uint NobodyId = 65534;
    public const string User = "65534:65534";
}

/// <summary>Per-task limits that depend on the server's configuration, checked at submission.</summary>
public sealed record TaskLimits
{
    public static readonly TaskLimits Default = new();

    public int MaxPidsPerTask { get; init; } = 4096;
    public int MaxEphemeralStorageMb { get; init; } = 65_536;

    /// <summary>Whether a task may run as root (uid or gid 0) inside its container.</summary>
    public bool AllowRootTasks { get; init; }
}

public static class LaneNames
{
    public static string ToWire(this Lane lane) => lane == Lane.Priority ? "priority" : "standard";
}
