using System.Globalization;
using System.Reflection;
using Skiff.Core.Tasks;

namespace Skiff.Runtime.Workloads;

/// <summary>The command line of a built-in workload: <c>skiff workload TYPE --name value ...</c>.</summary>
public static class WorkloadCommand
{
    /// <summary>The CLI verb that runs a built-in workload.</summary>
    public const string Verb = "workload";

    /// <summary>The argv that runs <paramref name="type"/> through the skiff program <paramref name="skiffCommand"/>.</summary>
    public static IReadOnlyList<string> For(IReadOnlyList<string> skiffCommand, string type, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(skiffCommand);
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(parameters);
        return [.. skiffCommand, Verb, .. WorkloadTypes.ToArguments(type, parameters)];
    }

    /// <summary>
    /// The argv prefix that runs this program again: its apphost (e.g. <c>/opt/skiff/skiff</c>), or the dotnet
    /// host and the entry assembly when it was started as <c>dotnet skiff.dll</c>.
    /// </summary>
    /// <remarks>Under a test host this names the test host, not skiff.</remarks>
    public static IReadOnlyList<string> CurrentProcess() =>
        SelfCommand(Environment.ProcessPath, Assembly.GetEntryAssembly()?.Location);

    /// <summary>
    /// How to start a program again: under the shared host (<c>dotnet skiff.dll</c>, what the <c>./skiff</c>
    /// launcher runs) the process is dotnet itself and the DLL must follow it; an apphost runs directly.
    /// </summary>
    public static IReadOnlyList<string> SelfCommand(string? processPath, string? assemblyPath)
    {
        var hasAssembly = !string.IsNullOrEmpty(assemblyPath);
        if (string.IsNullOrEmpty(processPath))
        {
            return hasAssembly ? ["dotnet", assemblyPath!] : ["skiff"];
        }
        var isDotnetHost = string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase);
        return isDotnetHost && hasAssembly ? [processPath, assemblyPath!] : [processPath];
    }

    /// <summary>
    /// Parses the arguments after the verb: <c>TYPE [--name value | --name=value]...</c>. Checks the type,
    /// the parameter names and that integer parameters are integers; ranges are checked when the workload
    /// runs. On failure <paramref name="error"/> lists every problem found.
    /// </summary>
    public static bool TryParseArguments(
        IReadOnlyList<string> args,
        out string type,
        out Dictionary<string, string> parameters,
        out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        type = "";
        parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        error = null;
        if (args.Count == 0)
        {
            error = $"missing workload type (one of: {string.Join(", ", WorkloadTypes.Names)})";
            return false;
        }
        type = args[0];
        if (!WorkloadTypes.IsKnown(type))
        {
            error = $"unknown workload type '{type}' (one of: {string.Join(", ", WorkloadTypes.Names)})";
            return false;
        }

        var errors = new List<string>();
        for (var i = 1; i < args.Count; i++)
        {
            var argument = args[i];
            if (!argument.StartsWith("--", StringComparison.Ordinal) || argument.Length == 2)
            {
                errors.Add($"unexpected argument '{argument}' (parameters are given as --name value)");
                continue;
            }
            string name;
            string value;
            var equals = argument.IndexOf('=', StringComparison.Ordinal);
            if (equals > 2)
            {
                name = argument[2..equals];
                value = argument[(equals + 1)..];
            }
            else
            {
                name = argument[2..];
                if (i + 1 >= args.Count)
                {
                    errors.Add($"missing value for --{name}");
                    break;
                }
                // Taken as is even when it starts with "--": a message may, and ToArguments writes it so.
                value = args[++i];
            }
            if (!parameters.TryAdd(name, value))
            {
                errors.Add($"--{name} is given more than once");
            }
        }
        CheckParameters(type, parameters, errors);

        if (errors.Count > 0)
        {
            error = string.Join("; ", errors);
            return false;
        }
        return true;
    }

    /// <summary>Adds an error for each parameter the type does not take and each integer that is not one.</summary>
    internal static void CheckParameters(string type, IReadOnlyDictionary<string, string> parameters, List<string> errors)
    {
        var known = WorkloadTypes.Parameters[type];
        foreach (var (name, value) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!known.TryGetValue(name, out var kind))
            {
                var names = string.Join(", ", known.Keys.Select(k => "--" + k));
                errors.Add($"unknown parameter --{name} for {type} (it takes {names})");
            }
            else if (kind == ParameterKind.Integer && !long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                errors.Add($"--{name} must be an integer, got '{value}'");
            }
        }
    }
}
