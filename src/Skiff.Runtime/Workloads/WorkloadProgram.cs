using System.Runtime.InteropServices;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Images;

namespace Skiff.Runtime.Workloads;

/// <summary>
/// How an attempt of a built-in workload type runs the skiff program: on the host as it is, or inside a
/// container, where the program and its .NET runtime are bound read-only into the <c>host</c> image (which
/// brings the C library, ICU and OpenSSL the runtime needs).
/// </summary>
public sealed class WorkloadProgram
{
    /// <summary>Where the .NET runtime (the directory holding the dotnet host and shared/) is seen inside.</summary>
    public const string DotnetInside = "/.skiff/dotnet";

    /// <summary>Where the directory of skiff.dll (or of the skiff apphost) is seen inside.</summary>
    public const string AppInside = "/.skiff/app";

    private WorkloadProgram(IReadOnlyList<string> command, string? image, IReadOnlyList<ReadOnlyBind> binds, IReadOnlyDictionary<string, string> environment)
    {
        Command = command;
        Image = image;
        Binds = binds;
        Environment = environment;
    }

    /// <summary>The argv prefix that runs skiff where the attempt runs.</summary>
    public IReadOnlyList<string> Command { get; }

    /// <summary>The image the attempt must run in, or null for the task's own (a plain process ignores images).</summary>
    public string? Image { get; }

    /// <summary>Host directories the attempt needs, read-only.</summary>
    public IReadOnlyList<ReadOnlyBind> Binds { get; }

    /// <summary>Variables the program needs to start (DOTNET_ROOT inside a container).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Runs <paramref name="skiffCommand"/> as it is: the attempt is a plain host process.</summary>
    public static WorkloadProgram OnHost(IReadOnlyList<string> skiffCommand) =>
        new(skiffCommand, image: null, [], new Dictionary<string, string>());

    /// <summary>
    /// Runs <paramref name="skiffCommand"/> (<c>[dotnet, skiff.dll]</c> or <c>[apphost]</c>) in a container: the
    /// runtime's directory is bound at <see cref="DotnetInside"/> and the program's at <see cref="AppInside"/>,
    /// so nothing else of the host (its build tree, its data directory) is visible.
    /// </summary>
    /// <param name="dotnetRoot">The .NET installation to bind; by default the one running this process.</param>
    public static WorkloadProgram InContainer(IReadOnlyList<string> skiffCommand, string? dotnetRoot = null)
    {
        ArgumentNullException.ThrowIfNull(skiffCommand);
        if (skiffCommand.Count > 0 && !Path.IsPathRooted(skiffCommand[0])
            && ProcessExecutor.ResolveCommand(skiffCommand[0], System.Environment.GetEnvironmentVariable("PATH") ?? "", System.Environment.CurrentDirectory, out _) is { } found)
        {
            // "dotnet" from PATH, as the ./skiff launcher may say it.
            skiffCommand = [found, .. skiffCommand.Skip(1)];
        }
        if (skiffCommand.Count is < 1 or > 2 || skiffCommand.Any(part => !Path.IsPathRooted(part)))
        {
            throw new ArgumentException(
                $"a built-in workload runs in a container only from absolute paths ([dotnet, skiff.dll] or [skiff]), not '{string.Join(' ', skiffCommand)}'",
                nameof(skiffCommand));
        }
        // Under `dotnet skiff.dll` the runtime is the one beside that dotnet host (resolved through /usr/bin/dotnet's link).
        var underDotnet = skiffCommand.Count == 2;
        var root = underDotnet ? Path.GetDirectoryName(RealPath(skiffCommand[0]))! : dotnetRoot ?? CurrentDotnetRoot();
        var program = RealPath(skiffCommand[^1]);
        var inside = Path.Combine(AppInside, Path.GetFileName(program));
        var command = underDotnet ? (IReadOnlyList<string>)[Path.Combine(DotnetInside, Path.GetFileName(skiffCommand[0])), inside] : [inside];
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_ROOT"] = DotnetInside,
            // No diagnostics IPC socket: nothing outside can attach, and the runtime starts sooner.
            ["DOTNET_EnableDiagnostics"] = "0",
            ["DOTNET_NOLOGO"] = "1",
        };
        return new WorkloadProgram(command, HostImage.Name, [new(root, DotnetInside), new(Path.GetDirectoryName(program)!, AppInside)], environment);
    }

    /// <summary>The argv of one attempt of <paramref name="type"/>.</summary>
    public IReadOnlyList<string> CommandFor(string type, IReadOnlyDictionary<string, string> parameters) =>
        WorkloadCommand.For(Command, type, parameters);

    /// <summary>The installation running this process: shared/Microsoft.NETCore.App/VERSION/ is three levels below it.</summary>
    internal static string CurrentDotnetRoot() =>
        Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    private static string RealPath(string path) =>
        File.Exists(path)
            ? new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path)
            : throw new ArgumentException($"the skiff program '{path}' does not exist: built-in workloads cannot run", nameof(path));
}
