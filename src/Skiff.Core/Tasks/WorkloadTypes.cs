namespace Skiff.Core.Tasks;

/// <summary>
/// The built-in workload types. Each runs as a real command inside the task (<c>skiff workload TYPE</c>),
/// never simulated by the server, so it behaves the same in a process or a container.
/// </summary>
public static class WorkloadTypes
{
    public const string CpuIntensive = "cpu-intensive";
    public const string MemoryIntensive = "memory-intensive";
    public const string IoIntensive = "io-intensive";
    public const string NetworkTest = "network-test";
    public const string Error = "error";
    public const string Timeout = "timeout";

    /// <summary>Type name → parameter name → whether it must be an integer.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, ParameterKind>> Parameters =
        new Dictionary<string, IReadOnlyDictionary<string, ParameterKind>>(StringComparer.Ordinal)
        {
            [CpuIntensive] = new Dictionary<string, ParameterKind> { ["seconds"] = ParameterKind.Integer, ["iterations"] = ParameterKind.Integer },
            [MemoryIntensive] = new Dictionary<string, ParameterKind> { ["mb"] = ParameterKind.Integer, ["seconds"] = ParameterKind.Integer },
            [IoIntensive] = new Dictionary<string, ParameterKind> { ["mb"] = ParameterKind.Integer },
            [NetworkTest] = new Dictionary<string, ParameterKind> { ["host"] = ParameterKind.Text, ["port"] = ParameterKind.Integer, ["timeoutMs"] = ParameterKind.Integer },
            [Error] = new Dictionary<string, ParameterKind> { ["exitCode"] = ParameterKind.Integer, ["message"] = ParameterKind.Text },
            [Timeout] = new Dictionary<string, ParameterKind> { ["seconds"] = ParameterKind.Integer },
        };

    public static IEnumerable<string> Names => Parameters.Keys;

    public static bool IsKnown(string type) => Parameters.ContainsKey(type);

    /// <summary>The arguments after <c>skiff workload</c> that run this type with these parameters.</summary>
    public static IReadOnlyList<string> ToArguments(string type, IReadOnlyDictionary<string, string> parameters)
    {
        var args = new List<string>(1 + (parameters.Count * 2)) { type };
        foreach (var (name, value) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            args.Add("--" + name);
            args.Add(value);
        }
        return args;
    }
}

public enum ParameterKind
{
    Text,
    Integer,
}
