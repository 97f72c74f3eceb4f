namespace Skiff.Cli;

/// <summary>
/// How to start this same CLI again: for the detached server of <c>skiff demo</c>, and for the server to run
/// built-in workloads as real commands (<c>PREFIX workload TYPE ...</c>).
/// </summary>
internal static class SelfInvocation
{
    public static IReadOnlyList<string> Current() =>
        Resolve(Environment.ProcessPath, typeof(SelfInvocation).Assembly.Location);

    /// <summary>
    /// Under the shared host (<c>dotnet skiff.dll</c>, which is what the <c>./skiff</c> launcher runs) the
    /// process is dotnet itself and the DLL must follow it; an apphost or single-file build is run directly.
    /// </summary>
    public static IReadOnlyList<string> Resolve(string? processPath, string? assemblyPath)
    {
        var hasAssembly = !string.IsNullOrEmpty(assemblyPath);
        if (string.IsNullOrEmpty(processPath))
        {
            return hasAssembly ? ["dotnet", assemblyPath!] : ["skiff"];
        }

        var isDotnetHost = string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase);
        return isDotnetHost && hasAssembly ? [processPath, assemblyPath!] : [processPath];
    }
}
