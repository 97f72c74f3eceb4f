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
