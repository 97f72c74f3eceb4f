using System.ComponentModel;
using System.Diagnostics;

namespace Skiff.Runtime.Containers;

/// <summary>Runs runc's short management commands (kill, delete, list) against one state root.</summary>
internal sealed class RuncCli
{
    // delete --force of a stuck container is the slowest of these; none should come near this.
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    private readonly string _runcPath;
    private readonly string _stateDirectory;

    public RuncCli(string runcPath, string stateDirectory)
    {
        _runcPath = runcPath;
        _stateDirectory = stateDirectory;
    }

    /// <summary>runc's own log in a bundle (JSON lines; an error there means the container never started).</summary>
    public const string LogFileName = "runc.log";

    /// <summary>The arguments that precede every subcommand.</summary>
    public IEnumerable<string> GlobalArguments => ["--root", _stateDirectory];

    public string RuncPath => _runcPath;

    /// <summary>Whether runc still keeps state for the container.</summary>
    public bool HasState(string containerId) => Directory.Exists(Path.Combine(_stateDirectory, containerId));

    /// <summary>
    /// Removes the state of a container known to be stopped (its cgroups are already gone), as runc delete
    /// would; false if it could not.
    /// </summary>
    public bool TryRemoveState(string containerId)
    {
        try
        {
            Directory.Delete(Path.Combine(_stateDirectory, containerId), recursive: true);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public Task<RuncCommandResult> KillAsync(string containerId) => RunAsync(["kill", containerId, "KILL"]);

    public Task<RuncCommandResult> DeleteAsync(string containerId) => RunAsync(["delete", "--force", containerId]);

    public async Task<IReadOnlyList<string>> ListAsync()
    {
        if (!Directory.Exists(_stateDirectory))
        {
            return [];
        }
        var result = await RunAsync(["list", "-q"]).ConfigureAwait(false);
        return result.ExitCode == 0 ? result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
    }

    /// <summary>
    /// <c>runc VERB [OPTIONS] --bundle BUNDLE ID</c> (run or create) with its stdio piped: the container's init
    /// keeps those pipes, so they carry the attempt's output. runc's own errors go to <see cref="LogFileName"/>
    /// in the bundle (they also reach stderr), which is how a container that never started is told apart from
    /// a task that failed.
    /// </summary>
    public ProcessStartInfo ContainerStartInfo(string verb, string bundle, string containerId, params string[] options)
    {
        var startInfo = new ProcessStartInfo(_runcPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[.. GlobalArguments, "--log", Path.Combine(bundle, LogFileName), "--log-format", "json", verb, .. options, "--bundle", bundle, containerId])
        {
            startInfo.ArgumentList.Add(argument);
        }
        return startInfo;
    }

    /// <summary>Runs a command to its end; not cancellable, because these are the clean-up steps.</summary>
    public async Task<RuncCommandResult> RunAsync(IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(_runcPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in GlobalArguments.Concat(arguments))
        {
            startInfo.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("runc did not start");
        }
        catch (Win32Exception e)
        {
            return new RuncCommandResult(-1, "", e.Message);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                await process.WaitForExitAsync().WaitAsync(CommandTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                process.Kill();
                await process.WaitForExitAsync().ConfigureAwait(false);
            }
            return new RuncCommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }
}

internal readonly record struct RuncCommandResult(int ExitCode, string Stdout, string Stderr);
