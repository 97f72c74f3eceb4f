using System.Text.Json.Serialization;

namespace Skiff.Runtime.Containers;

// The subset of the OCI runtime spec (config.json, v1.0.2) that Skiff generates. Property names map to the
// spec's field names through camelCase; absent (null) members are omitted.

internal sealed record OciSpec
{
    public string OciVersion { get; init; } = "1.0.2";
    public required OciProcess Process { get; init; }
    public required OciRoot Root { get; init; }
    public required string Hostname { get; init; }
    public required IReadOnlyList<OciMount> Mounts { get; init; }
    public required OciLinux Linux { get; init; }
}

internal sealed record OciProcess
{
    public bool Terminal { get; init; }
    public required OciUser User { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public required IReadOnlyList<string> Env { get; init; }
    public required string Cwd { get; init; }
    public required OciCapabilities Capabilities { get; init; }
    public IReadOnlyList<OciRlimit>? Rlimits { get; init; }
    public bool NoNewPrivileges { get; init; }
}

internal sealed record OciUser(uint Uid, uint Gid);

internal sealed record OciCapabilities
{
    public IReadOnlyList<string> Bounding { get; init; } = [];
    public IReadOnlyList<string> Effective { get; init; } = [];
    public IReadOnlyList<string> Inheritable { get; init; } = [];
    public IReadOnlyList<string> Permitted { get; init; } = [];
    public IReadOnlyList<string> Ambient { get; init; } = [];
}

internal sealed record OciRlimit(string Type, ulong Hard, ulong Soft);

internal sealed record OciRoot(string Path, [property: JsonPropertyName("readonly")] bool ReadOnly);

internal sealed record OciMount(string Destination, string Type, string Source, IReadOnlyList<string> Options);

internal sealed record OciLinux
{
    public required IReadOnlyList<OciNamespace> Namespaces { get; init; }
    public required string CgroupsPath { get; init; }
    public required OciResources Resources { get; init; }
    public required IReadOnlyList<string> MaskedPaths { get; init; }
    public required IReadOnlyList<string> ReadonlyPaths { get; init; }
    public OciSeccomp? Seccomp { get; init; }
}

internal sealed record OciNamespace(string Type);

internal sealed record OciResources
{
    public IReadOnlyList<OciDeviceRule>? Devices { get; init; }
    public OciMemory? Memory { get; init; }
    public OciCpu? Cpu { get; init; }
    public OciPids? Pids { get; init; }
}

internal sealed record OciDeviceRule(bool Allow, string Access);

internal sealed record OciMemory
{
    public long Limit { get; init; }
    /// <summary>Memory plus swap; equal to <see cref="Limit"/> means no swap. Null where swap is not accounted.</summary>
    public long? Swap { get; init; }
}

internal sealed record OciCpu(long Quota, ulong Period);

internal sealed record OciPids(long Limit);

internal sealed record OciSeccomp
{
    public required string DefaultAction { get; init; }
    public required IReadOnlyList<string> Architectures { get; init; }
    public required IReadOnlyList<OciSyscall> Syscalls { get; init; }
}

internal sealed record OciSyscall
{
    public required IReadOnlyList<string> Names { get; init; }
    public required string Action { get; init; }
    public uint? ErrnoRet { get; init; }
    public IReadOnlyList<OciSyscallArg>? Args { get; init; }
}

internal sealed record OciSyscallArg(uint Index, ulong Value, ulong ValueTwo, string Op);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(OciSpec))]
internal sealed partial class OciJsonContext : JsonSerializerContext;
