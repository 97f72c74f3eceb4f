using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Images;

namespace Skiff.Runtime.Containers;

/// <summary>
/// Runs each attempt in its own OCI container under runc: new pid, mount, ipc, uts and (unless the task asks
/// for the host's) network namespaces, cgroup limits on cpu, memory and pids, a read-only root, no
/// capabilities, no new privileges, a seccomp deny-list, the task's uid/gid (65534 unless it asks), tini as pid 1.
/// </summary>
/// <remarks>
/// <para>The container's root is its image's rootfs, shared read-only by all its tasks; the attempt's output
/// directory is bind-mounted at /output; /work and /tmp are tmpfs capped at the task's ephemeralStorageMb each.</para>
/// <para><c>runc run</c> stays attached: its stdout and stderr are the container's, so output flows through
/// the same <see cref="OutputPump"/> as for plain processes. <c>--keep</c> leaves the stopped container
/// (and so its cgroup) in place long enough to read usage and OOM kills; the attempt always ends with
/// <c>runc delete --force</c>, removal of any cgroup left and of the bundle.</para>
/// <para>A kill goes to the container's pid 1 with SIGKILL: when the init of a pid namespace dies the kernel
/// kills everything else in it, so nothing a task started outlives it, daemons and fork bombs included.</para>
/// </remarks>
public sealed class RuncExecutor : ITaskExecutor, IAsyncDisposable, IDisposable
{
    private const string TiniFatal = "[FATAL tini";

    // SIGKILL cannot be caught; this bounds runc itself being stuck.
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);
    // runc kill fails while the container is still being created; it is retried this often.
    private static readonly TimeSpan KillRetry = TimeSpan.FromMilliseconds(50);
    // Every process of the container is dead once runc returns, so the pipes close at once; this is a bound.
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(2);

    private readonly RuncOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly RuncCli _runc;
    private readonly Cgroups _cgroups;
    private readonly ImageStore _images;
    private readonly WarmPool? _pool;

    public RuncExecutor(RuncOptions options)
        : this(options, new Cgroups())
    {
    }

    internal RuncExecutor(RuncOptions options, Cgroups cgroups)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.StateRoot);
        ArgumentException.ThrowIfNullOrEmpty(options.ImagesDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.OpenFilesLimit, 64);
        _options = options;
        _timeProvider = options.TimeProvider;
        _runc = new RuncCli(options.RuncPath, options.RuncStateDirectory);
        _cgroups = cgroups;
        _images = options.Images ?? new ImageStore(new ImageStoreOptions { Directory = options.ImagesDirectory });
        _pool = options.WarmPoolSize > 0 ? new WarmPool(options, _runc, cgroups, _images, options.WarmPoolSize) : null;
    }

    public string Name => "runc";

    /// <summary>Removes what a previous process of this server left behind (see <see cref="CleanupLeftoversAsync(RuncOptions, CancellationToken)"/>).</summary>
    public Task CleanupLeftoversAsync(CancellationToken cancellationToken) => CleanupLeftoversAsync(_options, cancellationToken);

    public bool Isolates => true;

    /// <summary>
    /// Whether runc, a static tini and busybox (the default image) are installed at their default paths and this
    /// process is root; if not, <paramref name="reason"/> says what is missing.
    /// </summary>
    public static bool IsAvailable(out string reason) => IsAvailable(RuncOptions.DefaultRuncPath, out reason);

    /// <inheritdoc cref="IsAvailable(out string)"/>
    public static bool IsAvailable(string runcPath, out string reason) =>
        IsAvailable(runcPath, RuncOptions.DefaultTiniPath, BusyboxImage.DefaultBusyboxPath, out reason);

    internal static bool IsAvailable(string runcPath, string tiniPath, string busyboxPath, out string reason)
    {
        reason = !File.Exists(runcPath) ? $"runc not found at {runcPath}"
            : !File.Exists(tiniPath) ? $"static tini not found at {tiniPath}"
            : !File.Exists(busyboxPath) ? $"busybox not found at {busyboxPath}"
            : !Environment.IsPrivilegedProcess ? "runc containers need the server to run as root"
            : "";
        return reason.Length == 0;
    }

    /// <summary>
    /// Removes what a previous run of the executor left behind when it was killed: containers in its state
    /// root (stopped or running), empty cgroups under /skiff, bundles and half-built images. Call at start,
    /// before any attempt runs.
    /// </summary>
    public static async Task CleanupLeftoversAsync(RuncOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var runc = new RuncCli(options.RuncPath, options.RuncStateDirectory);
        foreach (var containerId in await runc.ListAsync().ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await runc.DeleteAsync(containerId).ConfigureAwait(false);
        }

        // Cgroups of containers whose runc state was lost. A cgroup still holding processes (another
        // server's running task) refuses rmdir and is left alone.
        var cgroups = new Cgroups();
        foreach (var parent in cgroups.ParentDirectories())
        {
            foreach (var child in Directory.EnumerateDirectories(parent))
            {
                Cgroups.TryRemove(child);
            }
        }

        if (Directory.Exists(options.BundlesDirectory))
        {
            foreach (var bundle in Directory.EnumerateDirectories(options.BundlesDirectory))
            {
                Directory.Delete(bundle, recursive: true);
            }
        }
        BusyboxImage.RemoveStaleBuilds(options.ImagesDirectory);
    }

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
        if (Validate(request) is { } problem)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, problem);
        }
        if (_pool is not null && WarmPool.KeyOf(request) is { } key)
        {
            var taken = _pool.TryTake(key, out var warm);
            // Whether it was there or not, the next attempt of this shape should find one.
            _pool.Fill(key, request);
            if (taken && await RunWarmAsync(request, warm, sink, cancellationToken).ConfigureAwait(false) is { } warmResult)
            {
                return warmResult;
            }
        }
        ImageLease? image;
        try
        {
            image = await _images.AcquireAsync(request.Image, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.Cancelled, "cancelled before start");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or Win32Exception)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, $"cannot prepare image '{request.Image}': {e.Message}");
        }
        if (image is null)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, $"unknown image '{request.Image}'");
        }

        // The lease keeps the image's root on disk while the container runs, even if the image is removed.
        using var imageLease = image;
        var containerId = ContainerId(request);
        var bundle = Path.Combine(_options.BundlesDirectory, containerId);
        try
        {
            if (await PrepareAsync(request, containerId, image, bundle).ConfigureAwait(false) is { } failure)
            {
                return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, failure);
            }
            return await RunAsync(request, containerId, bundle, sink, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CleanupAsync(containerId, bundle).ConfigureAwait(false);
        }
    }

    private async Task<string?> PrepareAsync(ExecutionRequest request, string containerId, ImageLease image, string bundle)
    {
        // Same task and attempt again (a server killed mid-attempt): the old container must go first.
        if (_runc.HasState(containerId))
        {
            await _runc.DeleteAsync(containerId).ConfigureAwait(false);
        }
        try
        {
            Directory.CreateDirectory(_options.RuncStateDirectory);
            if (Directory.Exists(bundle))
            {
                Directory.Delete(bundle, recursive: true);
            }
            Directory.CreateDirectory(bundle);
            var spec = OciSpecBuilder.Build(request, containerId, image.RootfsPath, _options, _cgroups.SwapAccounted, image.HostBinds);
            await WritePrivateAsync(Path.Combine(bundle, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.OciSpec)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot write the container bundle: {e.Message}";
        }
        // The task runs as its user (nobody by default); its output directory must be its own (/work is a tmpfs
        // mounted for that user).
        if (NativeMethods.Chown(request.OutputDirectory, request.User.Uid, request.User.Gid) != 0)
        {
            return $"cannot give {request.OutputDirectory} to {request.User}: errno {Marshal.GetLastPInvokeError()}";
        }
        return null;
    }

    private async Task<ExecutionResult> RunAsync(
        ExecutionRequest request,
        string containerId,
        string bundle,
        IExecutionSink sink,
        CancellationToken cancellationToken)
    {
        // --keep: the stopped container (and its cgroup) stays until its usage and OOM kills are read.
        var startInfo = _runc.ContainerStartInfo("run", bundle, containerId, "--keep");

        using var process = new Process { StartInfo = startInfo };
        var startedAt = _timeProvider.GetTimestamp();
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return ExecutionSupport.NotRun(ExecutionStatus.FailedToStart, $"cannot start runc: {e.Message}");
        }

        try
        {
            sink.Started(_timeProvider.GetUtcNow());
            // The task gets an empty stdin.
            process.StandardInput.Close();
            return await SuperviseAsync(request, containerId, bundle, process, sink, startedAt, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Only the sink can get here (it threw); the container must not outlive the attempt.
            await KillAsync(process, containerId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<ExecutionResult> SuperviseAsync(
        ExecutionRequest request,
        string containerId,
        string bundle,
        Process process,
        IExecutionSink sink,
        long startedAt,
        CancellationToken cancellationToken)
    {
        using var supervision = new AttemptSupervision(process.StandardOutput.BaseStream, process.StandardError.BaseStream, sink, request.Timeout, _timeProvider, cancellationToken);

        var status = ExecutionStatus.Exited;
        string? error = null;
        try
        {
            await process.WaitForExitAsync(supervision.Stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            (status, error) = supervision.StoppedBecause();
            await KillAsync(process, containerId).ConfigureAwait(false);
        }
        var wall = _timeProvider.GetElapsedTime(startedAt);
        // The container is stopped but kept (run --keep): its cgroup still holds the figures.
        var stats = _cgroups.Read(containerId);
        await supervision.DrainAsync(DrainWait).ConfigureAwait(false);
        supervision.ThrowIfSinkFailed();
        var stderr = supervision.Stderr;

        int? exitCode = process.HasExited ? process.ExitCode : null;
        if (status != ExecutionStatus.Exited && ReadRuncError(bundle) is not null)
        {
            // Stopped while runc was still creating the container: its 1 is runc's, the task never ran.
            exitCode = null;
        }
        else if (status == ExecutionStatus.Exited)
        {
            if (ReadRuncError(bundle) is { } runcError)
            {
                (status, exitCode, error) = (ExecutionStatus.FailedToStart, null, "cannot start container: " + runcError);
            }
            else if (exitCode is 126 or 127 && stderr.FirstLine is { } first && first.StartsWith(TiniFatal, StringComparison.Ordinal)
                && first.IndexOf("] ", StringComparison.Ordinal) is var end and > 0)
            {
                // tini could not exec the command: "[FATAL tini (7)] exec nosuch failed: No such file or directory".
                (status, exitCode, error) = (ExecutionStatus.FailedToStart, null, "cannot start: " + first[(end + 2)..]);
            }
            else if (stats.OomKills > 0 && exitCode != 0)
            {
                // A kill by the OOM killer looks exactly like any SIGKILL (137); only the cgroup tells. An OOM kill
                // the task survived (a child killed, the command still succeeding) is not a failure.
                (status, error) = (ExecutionStatus.OomKilled, $"OOMKilled: exceeded its memory limit of {request.MemoryMb} MiB");
            }
        }

        var usage = new TaskUsage((long)wall.TotalMilliseconds, stats.CpuMs, stats.PeakMemoryBytes);
        return new ExecutionResult(status, exitCode, error, usage, supervision.Stdout.Tail, stderr.Tail);
    }

    /// <summary>
    /// Runs the attempt in a container of the pool; null if that container turned out to be gone (the attempt
    /// then runs cold). The container's pipes are the attempt's output; its end is the end of every process in
    /// its cgroup; the exit status comes from the file the script writes.
    /// </summary>
    private async Task<ExecutionResult?> RunWarmAsync(ExecutionRequest request, WarmContainer warm, IExecutionSink sink, CancellationToken cancellationToken)
    {
        using var container = warm;
        try
        {
            if (!await WarmPool.StartAsync(warm, request).ConfigureAwait(false))
            {
                return null;
            }
            var startedAt = _timeProvider.GetTimestamp();
            sink.Started(_timeProvider.GetUtcNow());

            using var supervision = new AttemptSupervision(warm.Stdout, warm.Stderr, sink, request.Timeout, _timeProvider, cancellationToken);

            var status = ExecutionStatus.Exited;
            string? error = null;
            try
            {
                // The pipes close when the last process holding them is gone; one that closed them early is waited for.
                await supervision.Pumping.WaitAsync(supervision.Stop).ConfigureAwait(false);
                while (_cgroups.HasProcesses(warm.Id))
                {
                    await Task.Delay(KillRetry / 10, _timeProvider, supervision.Stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                (status, error) = supervision.StoppedBecause();
                var killing = _timeProvider.GetTimestamp();
                while (_cgroups.HasProcesses(warm.Id) && _timeProvider.GetElapsedTime(killing) < KillWait)
                {
                    await _runc.KillAsync(warm.Id).ConfigureAwait(false);
                    await Task.Delay(KillRetry / 10, _timeProvider, CancellationToken.None).ConfigureAwait(false);
                }
            }
            var wall = _timeProvider.GetElapsedTime(startedAt);
            var stats = _cgroups.Read(warm.Id);
            await supervision.DrainAsync(DrainWait).ConfigureAwait(false);
            supervision.ThrowIfSinkFailed();
            var stderr = supervision.Stderr;

            // Killed (timeout, cancel, OOM of the shell): as a SIGKILL shows in the cold path, 137.
            var exitCode = WarmPool.ExitCode(warm) ?? 137;
            if (status == ExecutionStatus.Exited)
            {
                if (exitCode is 126 or 127 && stderr.FirstLine is { } first && first.StartsWith("env: ", StringComparison.Ordinal))
                {
                    // env could not exec the command: "env: can't execute 'nosuch': No such file or directory".
                    (status, error) = (ExecutionStatus.FailedToStart, "cannot start: " + first["env: ".Length..]);
                }
                else if (stats.OomKills > 0 && exitCode != 0)
                {
                    (status, error) = (ExecutionStatus.OomKilled, $"OOMKilled: exceeded its memory limit of {request.MemoryMb} MiB");
                }
            }
            WarmPool.MoveOutput(warm, request.OutputDirectory);
            var usage = new TaskUsage((long)wall.TotalMilliseconds, stats.CpuMs, stats.PeakMemoryBytes);
            return new ExecutionResult(status, status == ExecutionStatus.FailedToStart ? null : exitCode, error, usage, supervision.Stdout.Tail, stderr.Tail);
        }
        finally
        {
            // A process still there (the sink threw mid-attempt) keeps the cgroup, and removal falls to runc delete --force.
            await _pool!.RemoveAsync(warm.Id, warm.Bundle).ConfigureAwait(false);
        }
    }

    /// <summary>Containers of the warm pool ready to be taken.</summary>
    internal int WarmReadyCount => _pool?.ReadyCount ?? 0;

    /// <summary>Removes the containers kept ahead (none are left running when the server stops).</summary>
    public ValueTask DisposeAsync() => _pool?.DisposeAsync() ?? ValueTask.CompletedTask;

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>SIGKILLs the container's init (and with it the whole pid namespace) and waits for runc to return.</summary>
    private async Task KillAsync(Process process, string containerId)
    {
        var started = _timeProvider.GetTimestamp();
        while (!process.HasExited && _timeProvider.GetElapsedTime(started) < KillWait)
        {
            // Fails while runc is still creating the container, and once it has stopped; both are retried
            // or ended by the exit check.
            await _runc.KillAsync(containerId).ConfigureAwait(false);
            if (await ExecutionSupport.WaitBoundedAsync(process.WaitForExitAsync(CancellationToken.None), KillRetry, _timeProvider).ConfigureAwait(false))
            {
                return;
            }
        }
        if (!process.HasExited)
        {
            // runc itself is stuck; the delete --force that follows takes the container down.
            process.Kill(entireProcessTree: true);
            await ExecutionSupport.WaitBoundedAsync(process.WaitForExitAsync(CancellationToken.None), KillWait, _timeProvider).ConfigureAwait(false);
        }
    }

    private Task CleanupAsync(string containerId, string bundle) => RemoveContainerAsync(_runc, _cgroups, containerId, bundle);

    /// <summary>Removes a container that has ended (or is killed here), its cgroups, its state and its bundle.</summary>
    internal static async Task RemoveContainerAsync(RuncCli runc, Cgroups cgroups, string containerId, string bundle)
    {
        // Deleting a stopped container is removing its cgroups and its state directory: done here, it saves
        // starting runc once more (~10 ms of a ~50 ms attempt). A container that still has a process keeps
        // its cgroup (rmdir fails), and only then runc delete --force is needed to kill and remove it.
        if (runc.HasState(containerId) && !(cgroups.Remove(containerId) && runc.TryRemoveState(containerId)))
        {
            await runc.DeleteAsync(containerId).ConfigureAwait(false);
        }
        cgroups.Remove(containerId);
        try
        {
            if (Directory.Exists(bundle))
            {
                Directory.Delete(bundle, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Removed by CleanupLeftoversAsync at the next start.
        }
    }

    /// <summary>The message of the first error runc logged, if it logged one (it did not start the container).</summary>
    private static string? ReadRuncError(string bundle)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(Path.Combine(bundle, RuncCli.LogFileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        foreach (var line in lines)
        {
            try
            {
                using var entry = JsonDocument.Parse(line);
                if (entry.RootElement.TryGetProperty("level", out var level) && level.ValueEquals("error")
                    && entry.RootElement.TryGetProperty("msg", out var message))
                {
                    return message.GetString();
                }
            }
            catch (JsonException)
            {
            }
        }
        return null;
    }

    /// <summary>Writes a file only root can read (0600): config.json holds the task's environment, secrets included.</summary>
    internal static async Task WritePrivateAsync(string path, byte[] content)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        await using var stream = new FileStream(path, options);
        await stream.WriteAsync(content).ConfigureAwait(false);
    }

    /// <summary>runc's container id (also the cgroup and bundle name): one per task attempt.</summary>
    internal static string ContainerId(ExecutionRequest request) =>
        request.TaskId + "-" + request.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string? Validate(ExecutionRequest request)
    {
        if (request.Command.Count == 0 || string.IsNullOrEmpty(request.Command[0]))
        {
            return "empty command";
        }
        if (request.Command.Any(argument => argument.Contains('\0', StringComparison.Ordinal)))
        {
            return "command arguments must not contain NUL characters";
        }
        foreach (var (name, value) in request.Env)
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal)
                || value.Contains('\0', StringComparison.Ordinal))
            {
                return $"invalid environment variable '{name}'";
            }
        }
        // runc's id rule, and a hostname (at most 64 characters).
        if (request.TaskId.Length is 0 or > 64 || request.Attempt < 0
            || !request.TaskId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '+'))
        {
            return $"task id '{request.TaskId}' cannot name a container";
        }
        if (request.MemoryMb < 4 || request.Cpu < 1 || request.PidsLimit < 1 || request.EphemeralStorageMb < 1)
        {
            return $"impossible limits: cpu {request.Cpu}, memory {request.MemoryMb} MiB, pids {request.PidsLimit}, ephemeral storage {request.EphemeralStorageMb} MiB";
        }
        if (!Path.IsPathRooted(request.OutputDirectory) || !Directory.Exists(request.OutputDirectory))
        {
            return $"directory does not exist: {request.OutputDirectory}";
        }
        return null;
    }
}
