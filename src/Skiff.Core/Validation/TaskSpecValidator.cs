using System.Globalization;
using System.Text;
using Skiff.Core.Secrets;
using Skiff.Core.Tasks;

namespace Skiff.Core.Validation;

public static class TaskSpecValidator
{
    public static ValidationErrors Validate(TaskSpec spec) => Validate(spec, TaskLimits.Default);

    /// <summary>Validates <paramref name="spec"/> against fixed rules and this server's <paramref name="limits"/>.</summary>
    public static ValidationErrors Validate(TaskSpec spec, TaskLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var errors = new ValidationErrors();
        var hasType = spec.Type is not null;
        var hasCommand = spec.Command is not null;
        if (hasType == hasCommand)
        {
            errors.Add("type", "give exactly one of 'type' (a built-in workload) or 'command' (an array of strings)");
        }
        if (hasType && !WorkloadTypes.IsKnown(spec.Type!))
        {
            errors.Add("type", $"unknown type '{Truncate(spec.Type!)}'; known types: {string.Join(", ", WorkloadTypes.Names)}");
        }
        else if (hasType)
        {
            ValidateParameters(spec.Type!, spec.Parameters, errors);
        }
        if (!hasType && spec.Parameters.Count > 0)
        {
            errors.Add("parameters", "parameters apply only to a built-in 'type'");
        }
        if (hasCommand)
        {
            if (spec.Command!.Count == 0 || string.IsNullOrEmpty(spec.Command[0]))
            {
                errors.Add("command", "must be a non-empty array whose first element is the program to run");
            }
            else if (spec.Command.Count > TaskDefaults.MaxCommandArgs)
            {
                errors.Add("command", $"at most {TaskDefaults.MaxCommandArgs} arguments");
            }
            else if (spec.Command.Any(a => a is null || a.Contains('\0', StringComparison.Ordinal)))
            {
                errors.Add("command", "arguments must be strings without NUL characters");
            }
        }
        if (string.IsNullOrWhiteSpace(spec.Image) || spec.Image.Length > 128)
        {
            errors.Add("image", "must be a non-empty image name of at most 128 characters");
        }
        Range(errors, "priority", spec.Priority, TaskDefaults.MinPriority, TaskDefaults.MaxPriority);
        Range(errors, "timeoutSeconds", spec.TimeoutSeconds, TaskDefaults.MinTimeoutSeconds, TaskDefaults.MaxTimeoutSeconds);
        Range(errors, "cpu", spec.Cpu, TaskDefaults.MinCpu, TaskDefaults.MaxCpu);
        Range(errors, "memoryMb", spec.MemoryMb, TaskDefaults.MinMemoryMb, TaskDefaults.MaxMemoryMb);
        Range(errors, "maxAttempts", spec.MaxAttempts, TaskDefaults.MinMaxAttempts, TaskDefaults.MaxMaxAttempts);
        Range(errors, "pidsLimit", spec.PidsLimit, 1, limits.MaxPidsPerTask);
        Range(errors, "ephemeralStorageMb", spec.EphemeralStorageMb, 1, limits.MaxEphemeralStorageMb);
        if (!TaskUser.TryParse(spec.User, out var user))
        {
            errors.Add("user", $"must be a numeric uid or uid:gid such as \"{TaskDefaults.User}\" (got \"{Truncate(spec.User ?? "")}\")");
        }
        else if (user.IsRoot && !limits.AllowRootTasks)
        {
            errors.Add("user", "uid 0 and gid 0 (root) are not allowed on this server (Skiff:AllowRootTasks)");
        }
        if (spec.Network is not ("none" or "host"))
        {
            errors.Add("network", "must be 'none' or 'host'");
        }
        foreach (var (key, value) in spec.Env)
        {
            if (key.Length == 0 || key.Contains('=', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal)
                || (value?.Contains('\0', StringComparison.Ordinal) ?? true))
            {
                errors.Add("env", $"invalid variable '{Truncate(key)}': names are non-empty without '=' or NUL, values are strings without NUL");
                break;
            }
        }
        SecretReferences.Validate(spec, errors);
        var metadataBytes = spec.Metadata.Sum(m => Encoding.UTF8.GetByteCount(m.Key) + Encoding.UTF8.GetByteCount(m.Value ?? ""));
        if (metadataBytes > TaskDefaults.MaxMetadataBytes)
        {
            errors.Add("metadata", $"is {metadataBytes} bytes; at most {TaskDefaults.MaxMetadataBytes} bytes of keys and values");
        }
        if (spec.Metadata.Any(m => m.Value is null))
        {
            errors.Add("metadata", "values must be strings");
        }
        return errors;
    }

    private static void ValidateParameters(string type, IReadOnlyDictionary<string, string> parameters, ValidationErrors errors)
    {
        var known = WorkloadTypes.Parameters[type];
        foreach (var (name, value) in parameters)
        {
            if (!known.TryGetValue(name, out var kind))
            {
                errors.Add("parameters", $"'{Truncate(name)}' is not a parameter of {type}; it takes {string.Join(", ", known.Keys)}");
            }
            else if (kind == ParameterKind.Integer &&
                     (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < 0 || number > int.MaxValue))
            {
                errors.Add("parameters", $"'{name}' must be a non-negative integer");
            }
            else if (value is null || value.Length > 1024)
            {
                errors.Add("parameters", $"'{name}' must be a string of at most 1024 characters");
            }
        }
    }

    private static void Range(ValidationErrors errors, string field, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add(field, $"must be between {min} and {max} (got {value})");
        }
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
