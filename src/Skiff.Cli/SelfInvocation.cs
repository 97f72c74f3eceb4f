using Skiff.Runtime.Workloads;

namespace Skiff.Cli;

/// <summary>
/// How to start this same CLI again: for the detached server of <c>skiff demo</c>, and for the server to run
/// built-in workloads as real commands (<c>PREFIX workload TYPE ...</c>).
/// </summary>
internal static class SelfInvocation
{
    public static IReadOnlyList<string> Current() => Resolve(Environment.ProcessPath, typeof(SelfInvocation).Assembly.Location);

    public static IReadOnlyList<string> Resolve(string? processPath, string? assemblyPath) => WorkloadCommand.SelfCommand(processPath, assemblyPath);
}
