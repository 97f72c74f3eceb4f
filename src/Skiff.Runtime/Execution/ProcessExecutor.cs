using System.Collections;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Skiff.Core.Tasks;

namespace Skiff.Runtime.Execution;

/// <summary>
/// Runs each attempt as a plain child process of the server, for development and trusted single-user setups.
/// </summary>
/// <remarks>
/// <para>No isolation: the request's image, cpu, memory, network, pids limit, ephemeral storage and user are ignored, the task sees the host's
/// file system and network and runs as the server's user. The runc executor applies them.</para>
/// <para>The environment is built from scratch (PATH, HOME, LANG, the .NET host location, the request's
/// variables and SKIFF_*) so the server's own secrets never reach a task.</para>
/// <para>Each attempt runs in its own session, so a kill reaches every process it started, including orphans
/// reparented away from it. It is started with posix_spawn(3) and POSIX_SPAWN_SETSID (<see cref="SpawnedProcess"/>);
/// where libc or the kernel lack that, through <see cref="Process"/> and setsid(1), one exec more per attempt.
/// Without either, descendants are found by walking the tree, which misses orphans that were never sampled.
/// A process that starts its own session escapes either way; only the runc executor's cgroup is airtight.</para>
/// <para>Usage is sampled from /proc every 50 ms (see <see cref="ProcessTree"/>); the runc executor reads
/// cgroups instead.</para>
/// </remarks>
public sealed class ProcessExecutor : ITaskExecutor
{
    internal const int MaxLineBytes = 64 * 1024;
    internal const int TailChars = 4 * 1024;

    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private const string SetsidExecFailure = "setsid: failed to execute ";
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(50);
    // SIGKILL cannot be caught; this only bounds a process stuck in uninterruptible I/O.
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);
    // After the attempt's processes are gone, output still in the pipes is read for this long at most:
    // a process that escaped the kill may hold the pipe open forever.
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(2);

    private readonly TimeProvider _timeProvider;
    private readonly bool _spawn;
    private readonly string? _setsidPath;
    private readonly ProcessRecords? _records;

    public ProcessExecutor()
        : this(TimeProvider.System)
    {
    }

    public ProcessExecutor(TimeProvider timeProvider)
        : this(timeProvider, spawn: SpawnedProcess.IsSupported, FindSetsid())
    {
    }

    /// <summary>The fallback: every attempt through <see cref="Process"/>, in its own session when <paramref name="setsidPath"/> is given.</summary>
    /// <param name="timeProvider">Clock for timeouts, wall time and sampling.</param>
    /// <param name="setsidPath">setsid(1) to start attempts in their own session, or null not to.</param>
    internal ProcessExecutor(TimeProvider timeProvider, string? setsidPath)
        : this(timeProvider, spawn: false, setsidPath)
    {
    }

    private ProcessExecutor(TimeProvider timeProvider, bool spawn, string? setsidPath)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        _spawn = spawn;
        _setsidPath = setsidPath;
    }

    private static string? FindSetsid() => FindExecutable("setsid", Environment.GetEnvironmentVariable("PATH") ?? DefaultPath);

    /// <summary>
    /// Where each running attempt leaves a record (pid and start time of its process group), so that after a
    /// crash of the server the next start can kill what is still running (<see cref="KillLeftovers"/>).
    /// Null: no records.
    /// </summary>
    public string? RecordDirectory
    {
        get => _records?.Directory;
        init => _records = value is null ? null : new ProcessRecords(value);
    }

    public string Name => "process (no isolation)";

    /// <summary>
    /// Kills the process groups of attempts a previous server process started and never saw end (kill -9),
    /// so a task recovered through lease expiry does not run twice at once. Returns how many were killed.
    /// </summary>
    public int KillLeftovers() => _records?.KillLeftovers() ?? 0;

    public bool Isolates => false;

    /// <summary>Whether attempts run in their own session and process group.</summary>
    internal bool UsesSessions => _spawn || _setsidPath is not null;

    /// <summary>Whether attempts are started with posix_spawn (else through <see cref="Process"/>).</summary>
    internal bool UsesSpawn => _spawn;

    public async Task<ExecutionResult> ExecuteAsync(ExecutionRequest request, IExecutionSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sink);
        if (request.Timeout <= TimeSpan.Zero && request.Timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.Timeout, "The timeout must be positive.");
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.Cancelled, "cancelled before start");
        }

        var environment = BuildEnvironment(request);
        if (Prepare(request, environment) is { } problem)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, problem);
        }
        var executable = ResolveCommand(request.Command[0], environment["PATH"], request.WorkDirectory, out var notFound);
        if (executable is null)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, notFound);
        }

        var startedAt = _timeProvider.GetTimestamp();
        using var process = Start(request, executable, environment, out var startError);
        if (process is null)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, $"cannot start {request.Command[0]}: {startError}");
        }

        var tree = new ProcessTree(process.Id, ownsProcessGroup: UsesSessions);
        string? record = null;
        try
        {
            sink.Started(_timeProvider.GetUtcNow());
            // The first sample also reads the start time that the record needs.
            tree.Sample();
            record = WriteRecord(request, process.Id, tree.RootStartTime);
            return await SuperviseAsync(request, process, tree, sink, startedAt, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Only the sink or the record can get here (they threw); nothing the attempt started may outlive it.
            tree.KillAll(process);
            throw;
        }
        finally
        {
            if (record is not null)
            {
                _records!.Remove(record);
            }
        }
    }

    private IAttemptProcess? Start(ExecutionRequest request, string executable, Dictionary<string, string> environment, out string error)
    {
        if (_spawn)
        {
            return SpawnedProcess.Start(executable, request.Command, environment, request.WorkDirectory, out error);
        }
        error = "";
        var process = new Process { StartInfo = CreateStartInfo(request, executable, environment) };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or IOException or ArgumentException)
        {
            process.Dispose();
            error = e.Message;
            return null;
        }
        // The task gets an empty stdin rather than sharing the server's.
        process.StandardInput.Close();
        return new DotnetProcess(process);
    }

    private string? WriteRecord(ExecutionRequest request, int pid, ulong? startTime)
    {
        // Only a process group (setsid) can be killed whole later; without it there is nothing safe to record.
        if (_records is null || !UsesSessions || startTime is not { } start)
        {
            return null;
        }
        return _records.Add(string.Create(CultureInfo.InvariantCulture, $"{request.TaskId}-{request.Attempt}"), pid, start);
    }

    private async Task<ExecutionResult> SuperviseAsync(
        ExecutionRequest request,
        IAttemptProcess process,
        ProcessTree tree,
        IExecutionSink sink,
        long startedAt,
        CancellationToken cancellationToken)
    {
        using var supervision = new AttemptSupervision(process.Stdout, process.Stderr, sink, request.Timeout, _timeProvider, cancellationToken);

        using var stopSampling = new CancellationTokenSource();
        var sampling = tree.SampleAsync(SampleInterval, _timeProvider, stopSampling.Token);

        var status = ExecutionStatus.Exited;
        string? error = null;
        try
        {
            await process.WaitForExitAsync(supervision.Stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            (status, error) = supervision.StoppedBecause();
            if (status == ExecutionStatus.TimedOut)
            {
                await WaitOutTimeoutAsync(request.Timeout, startedAt).ConfigureAwait(false);
            }
            tree.Sample();
            tree.KillAll(process);
            await ExecutionSupport.WaitBoundedAsync(process.WaitForExitAsync(CancellationToken.None), KillWait, _timeProvider).ConfigureAwait(false);
        }
        var wall = _timeProvider.GetElapsedTime(startedAt);

        // Whatever the root left running (a daemonised child, say) ends with the attempt. A spawned root is
        // reaped only now, so until here its pid, and the process group's id, cannot be reused.
        tree.KillAll(process);
        process.Reap();
        await stopSampling.CancelAsync().ConfigureAwait(false);
        await sampling.ConfigureAwait(false);

        await supervision.DrainAsync(DrainWait).ConfigureAwait(false);
        supervision.ThrowIfSinkFailed();
        var stderr = supervision.Stderr;

        var exitCode = process.ExitCode;
        if (status == ExecutionStatus.Exited && _setsidPath is not null && !_spawn && exitCode is 126 or 127
            && stderr.FirstLine is { } first && first.StartsWith(SetsidExecFailure, StringComparison.Ordinal))
        {
            // setsid itself could not exec the command (a script with a missing interpreter, say): the same
            // outcome Process.Start reports as an exception when it runs the command directly.
            (status, exitCode, error) = (ExecutionStatus.FailedToStart, null, "cannot start " + first[SetsidExecFailure.Length..]);
        }

        var usage = new TaskUsage((long)wall.TotalMilliseconds, tree.CpuMs, tree.PeakMemoryBytes);
        return new ExecutionResult(status, exitCode, error, usage, supervision.Stdout.Tail, stderr.Tail);
    }

    /// <summary>
    /// Timers run on a coarse clock (jiffies) and can fire a few milliseconds before the timeout has passed by the
    /// clock wall time is measured with; with a fast start that showed as "timed out after 1s" at 999 ms.
    /// The attempt gets all of its time.
    /// </summary>
    private async Task WaitOutTimeoutAsync(TimeSpan timeout, long startedAt)
    {
        for (var i = 0; i < 10 && _timeProvider.GetElapsedTime(startedAt) is var elapsed && elapsed < timeout; i++)
        {
            await Task.Delay(timeout - elapsed + TimeSpan.FromMilliseconds(1), _timeProvider).ConfigureAwait(false);
        }
    }

    private ProcessStartInfo CreateStartInfo(ExecutionRequest request, string executable, Dictionary<string, string> environment)
    {
        var startInfo = new ProcessStartInfo
        {
            UseShellExecute = false,
            WorkingDirectory = request.WorkDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (_setsidPath is not null)
        {
            // setsid execs the command in place (our child never leads a group, so it does not fork):
            // the pid we hold is the command's, and it now leads its own session and process group.
            startInfo.FileName = _setsidPath;
            startInfo.ArgumentList.Add("--");
            startInfo.ArgumentList.Add(executable);
        }
        else
        {
            startInfo.FileName = executable;
        }
        for (var i = 1; i < request.Command.Count; i++)
        {
            startInfo.ArgumentList.Add(request.Command[i]);
        }
        startInfo.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }
        return startInfo;
    }

    internal static Dictionary<string, string> BuildEnvironment(ExecutionRequest request)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : DefaultPath,
            ["HOME"] = request.WorkDirectory,
            ["LANG"] = "C.UTF-8",
        };
        // Where the .NET runtime lives, so the built-in workloads (`dotnet skiff.dll workload ...` or the
        // skiff apphost) start; these name directories, never secrets.
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (variable.Key is string name && variable.Value is string value
                && name.StartsWith("DOTNET_ROOT", StringComparison.Ordinal))
            {
                environment[name] = value;
            }
        }
        foreach (var (name, value) in request.Env)
        {
            environment[name] = value;
        }
        // Last, so a task cannot be told a different output directory or identity.
        environment["SKIFF_OUTPUT"] = request.OutputDirectory;
        environment["SKIFF_TASK_ID"] = request.TaskId;
        environment["SKIFF_ATTEMPT"] = request.Attempt.ToString(CultureInfo.InvariantCulture);
        return environment;
    }

    private static string? Prepare(ExecutionRequest request, Dictionary<string, string> environment)
    {
        if (request.Command.Count == 0 || string.IsNullOrEmpty(request.Command[0]))
        {
            return "empty command";
        }
        if (request.Command.Any(argument => argument.Contains('\0', StringComparison.Ordinal)))
        {
            return "command arguments must not contain NUL characters";
        }
        foreach (var (name, value) in environment)
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal)
                || value.Contains('\0', StringComparison.Ordinal))
            {
                return $"invalid environment variable '{name}'";
            }
        }
        if (!Directory.Exists(request.WorkDirectory))
        {
            return $"work directory does not exist: {request.WorkDirectory}";
        }
        return null;
    }

    /// <summary>
    /// Resolves argv[0] the way a shell would, but against the task's PATH (not the server's) and relative
    /// to the task's work directory; null with the reason when there is nothing to run.
    /// </summary>
    internal static string? ResolveCommand(string command, string path, string workDirectory, out string error)
    {
        error = "";
        if (command.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(command, workDirectory);
            if (!File.Exists(full))
            {
                error = $"command not found: {command}";
                return null;
            }
            if (!IsExecutable(full))
            {
                error = $"command not executable: {command}";
                return null;
            }
            return full;
        }

        var found = FindExecutable(command, path);
        if (found is not null)
        {
            return found;
        }
        error = FindFile(command, path) is not null ? $"command not executable: {command}" : $"command not found: {command}";
        return null;
    }

    private static string? FindExecutable(string name, string path) =>
        SearchPath(name, path).FirstOrDefault(IsExecutable);

    private static string? FindFile(string name, string path) => SearchPath(name, path).FirstOrDefault();

    private static IEnumerable<string> SearchPath(string name, string path)
    {
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            // Relative PATH entries would resolve against the server's directory: skipped.
            if (!Path.IsPathRooted(directory))
            {
                continue;
            }
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                yield return candidate;
            }
        }
    }

    private static bool IsExecutable(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        try
        {
            return (File.GetUnixFileMode(file) & anyExecute) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
