using System.Diagnostics;

namespace Skiff.Runtime.Execution;

/// <summary>An attempt's root process as the <see cref="ProcessExecutor"/> supervises it, however it was started.</summary>
internal interface IAttemptProcess : IDisposable
{
    int Id { get; }

    Stream Stdout { get; }

    Stream Stderr { get; }

    bool HasExited { get; }

    /// <summary>Null until the process has exited and its status was collected.</summary>
    int? ExitCode { get; }

    Task WaitForExitAsync(CancellationToken cancellationToken);

    /// <summary>Collects the exit status once the exit was seen; before that, or twice, nothing happens.</summary>
    void Reap();

    /// <summary>SIGKILL to the root and its current descendants, if the root still runs.</summary>
    void KillRootAndDescendants();
}

/// <summary>The root started through <see cref="Process"/>: the fallback where posix_spawn with a session is unavailable.</summary>
internal sealed class DotnetProcess : IAttemptProcess
{
    private readonly Process _process;

    public DotnetProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public Stream Stdout => _process.StandardOutput.BaseStream;

    public Stream Stderr => _process.StandardError.BaseStream;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public void Reap()
    {
        // .NET reaps its own children.
    }

    public void KillRootAndDescendants()
    {
        try
        {
            // Walking the tree reads every process on the host (Process.GetProcesses); after the root exited
            // normally the group signal and the known children are enough, and this stays cheap.
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited and reaped.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited while the tree was being walked.
        }
    }

    public void Dispose() => _process.Dispose();
}
