using System.Globalization;
using System.Text.Json.Nodes;

namespace Skiff.Runtime.Workloads;

/// <summary>What a running built-in workload reads its parameters from and reports to.</summary>
internal sealed class WorkloadContext
{
    public WorkloadContext(
        string type,
        IReadOnlyDictionary<string, string> parameters,
        TextWriter stdout,
        TextWriter stderr,
        string workDirectory,
        TimeProvider timeProvider)
    {
        Type = type;
        Parameters = new WorkloadParameters(parameters);
        Stdout = stdout;
        Stderr = stderr;
        WorkDirectory = workDirectory;
        TimeProvider = timeProvider;
        Result = new JsonObject { ["type"] = type };
    }

    public string Type { get; }

    public WorkloadParameters Parameters { get; }

    public TextWriter Stdout { get; }

    public TextWriter Stderr { get; }

    /// <summary>Where scratch files go (the task's working directory).</summary>
    public string WorkDirectory { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>The summary written to $SKIFF_OUTPUT/result.json; workloads add their figures.</summary>
    public JsonObject Result { get; }
}

/// <summary>
/// Typed access to a workload's parameters. Problems are collected rather than thrown so that a workload
/// reads all its parameters first and every bad value is reported at once.
/// </summary>
internal sealed class WorkloadParameters
{
    private readonly IReadOnlyDictionary<string, string> _values;

    public WorkloadParameters(IReadOnlyDictionary<string, string> values)
    {
        _values = values;
    }

    public List<string> Errors { get; } = [];

    public bool Valid => Errors.Count == 0;

    public long Integer(string name, long defaultValue, long min, long max) => OptionalInteger(name, min, max) ?? defaultValue;

    public long? OptionalInteger(string name, long min, long max)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return null;
        }
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Errors.Add($"--{name} must be an integer, got '{text}'");
            return null;
        }
        if (value < min || value > max)
        {
            Errors.Add($"--{name} must be between {min} and {max}, got {value}");
            return null;
        }
        return value;
    }

    public long RequiredInteger(string name, long min, long max)
    {
        if (!_values.ContainsKey(name))
        {
            Errors.Add($"--{name} is required");
            return 0;
        }
        return OptionalInteger(name, min, max) ?? 0;
    }

    public string Text(string name, string defaultValue) => _values.TryGetValue(name, out var value) ? value : defaultValue;

    public string RequiredText(string name)
    {
        if (!_values.TryGetValue(name, out var value) || string.IsNullOrWhiteSpace(value))
        {
            Errors.Add($"--{name} is required");
            return "";
        }
        return value;
    }
}
