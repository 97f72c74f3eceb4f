using System.Diagnostics;

namespace Skiff.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The real <c>skiff</c> program as a user runs it: <c>dotnet skiff.dll ...</c> from the test's output directory
/// (the project references Skiff.Cli, so the build copies it there), in a clean environment.
/// </summary>
internal static class SkiffProgram
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "skiff.dll");

    /// <summary>The dotnet host running these tests (an absolute path), so the program runs on the same runtime.</summary>
    public static string DotnetHost { get; } = ResolveDotnetHost();

    /// <summary>
    /// A start info for <paramref name="fileName"/> with stdout and stderr redirected. The test run's own SKIFF_*
    /// and Skiff__* variables are removed (a developer's SKIFF_API_KEY must not leak into a test), then
    /// <paramref name="environment"/> is applied; a null value removes a variable.
    /// </summary>
    public static ProcessStartInfo StartInfo(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        foreach (var name in startInfo.Environment.Keys.ToList())
        {
            if (name.StartsWith("SKIFF_", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Skiff__", StringComparison.OrdinalIgnoreCase)
                || name is "ASPNETCORE_URLS" or "DOTNET_URLS")
            {
                startInfo.Environment.Remove(name);
            }
        }
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }
        return startInfo;
    }

    /// <summary><c>dotnet skiff.dll ARGS</c>.</summary>
    public static ProcessStartInfo SkiffStartInfo(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null) =>
        StartInfo(DotnetHost, [Dll, .. arguments], workingDirectory, environment);

    private static string ResolveDotnetHost()
    {
        // dotnet test sets DOTNET_HOST_PATH; the test host itself usually runs under dotnet too.
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }
        if (Environment.ProcessPath is { } processPath
            && string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return processPath;
        }
        // An absolute path either way: tests put stand-ins named dotnet first on PATH.
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "dotnet"))
            .FirstOrDefault(File.Exists) ?? "dotnet";
    }
}
