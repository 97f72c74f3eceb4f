using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.FirstRun;

/// <summary>
/// The <c>./skiff</c> launcher at the repository root: builds the CLI when it is missing or older than the
/// sources, then runs it, from any directory. The real script runs in a copy of the repository root whose
/// <c>dotnet build</c> is a stand-in that "builds" by linking the skiff.dll next to these tests: a real build
/// takes minutes on a busy machine and the checkout's own .build/ is shared with everyone working in it.
/// </summary>
public sealed class LauncherTests : IDisposable
{
    /// <summary>dotnet, except that <c>dotnet build ... -o OUT</c> links OUT to the prebuilt CLI (or fails on request) and logs the call.</summary>
    private const string DotnetStandIn =
        """
        #!/usr/bin/env bash
        if [[ "${1:-}" == build ]]; then
          echo "$*" >> "$E2E_BUILD_CALLS"
          if [[ -n "${E2E_BUILD_ERROR:-}" ]]; then
            echo "$E2E_BUILD_ERROR"
            exit 1
          fi
          out=""
          while (($#)); do
            if [[ $1 == -o ]]; then out=$2; shift; fi
            shift
          done
          mkdir -p "$(dirname "$out")" && ln -sfn "$E2E_PREBUILT" "$out"
          exit 0
        fi
        exec "$E2E_REAL_DOTNET" "$@"
        """;

    private static readonly string[] Verbs = ["demo", "server", "submit", "status", "list", "logs", "cancel", "dlq", "workload"];

    private readonly TempDirectory _directory = new();
    private readonly string _root;
    private readonly string _buildCalls;

    public LauncherTests()
    {
        _root = _directory.Combine("repo");
        _buildCalls = _directory.Combine("build-calls.log");
        Directory.CreateDirectory(Path.Combine(_root, "src", "Skiff.Cli"));
        File.WriteAllText(Path.Combine(_root, "src", "Skiff.Cli", "Program.cs"), "// a source the launcher watches\n");
        File.Copy(Path.Combine(RepositoryRoot(), "skiff"), Path.Combine(_root, "skiff"));
        File.SetUnixFileMode(Path.Combine(_root, "skiff"), (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(_directory.Combine("bin"));
        File.WriteAllText(_directory.Combine("bin", "dotnet"), DotnetStandIn.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(_directory.Combine("bin", "dotnet"), (UnixFileMode)0b111_101_101);
        File.WriteAllText(_buildCalls, "");
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Launcher_FromAnotherDirectoryThroughASymlink_BuildsOnlyWhenStaleAndRunsTheCli()
    {
        // Called through a symlink elsewhere on PATH, from an unrelated directory, as an installed command would be.
        var elsewhere = _directory.Combine("elsewhere");
        Directory.CreateDirectory(elsewhere);
        File.CreateSymbolicLink(Path.Combine(elsewhere, "skiff"), Path.Combine(_root, "skiff"));
        var launcher = Path.Combine(elsewhere, "skiff");

        var first = await RunAsync(launcher, elsewhere);
        var second = await RunAsync(launcher, elsewhere);
        File.SetLastWriteTimeUtc(Path.Combine(_root, "src", "Skiff.Cli", "Program.cs"), DateTime.UtcNow.AddMinutes(1));
        var afterEdit = await RunAsync(launcher, elsewhere);

        foreach (var run in (ProcessRun[])[first, second, afterEdit])
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            foreach (var verb in Verbs)
            {
                Assert.Matches($@"(?m)^\s+{verb}\b", run.Stdout);
            }
        }
        var builds = await File.ReadAllLinesAsync(_buildCalls);
        Assert.Equal(2, builds.Length); // missing, then stale; not when up to date
        Assert.All(builds, b => Assert.StartsWith($"build {_root}/src/Skiff.Cli -c Release -o {_root}/.build/cli", b, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Launcher_BuildFails_PrintsTheCompilerErrorAndExitsOne()
    {
        const string CompilerError = "/repo/src/Skiff.Cli/Program.cs(3,1): error CS1002: ; expected";

        var run = await RunAsync(Path.Combine(_root, "skiff"), _directory.Path, buildError: CompilerError);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal(["skiff: building the CLI failed (full log: " + _root + "/.build/build.log):", CompilerError], run.StderrLines);
    }

    private Task<ProcessRun> RunAsync(string launcher, string workingDirectory, string? buildError = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["PATH"] = _directory.Combine("bin") + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["E2E_BUILD_CALLS"] = _buildCalls,
            ["E2E_BUILD_ERROR"] = buildError,
            ["E2E_PREBUILT"] = AppContext.BaseDirectory.TrimEnd('/'),
            ["E2E_REAL_DOTNET"] = SkiffProgram.DotnetHost,
        };
        return ProcessRun.RunAsync(SkiffProgram.StartInfo("bash", [launcher, "--help"], workingDirectory, environment), TimeSpan.FromSeconds(60));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "skiff")) && File.Exists(Path.Combine(directory.FullName, "Skiff.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no repository root (with ./skiff and Skiff.slnx) above {AppContext.BaseDirectory}");
    }
}
