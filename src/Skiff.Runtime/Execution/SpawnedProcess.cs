using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Skiff.Runtime.Execution;

/// <summary>
/// An attempt's root process started with posix_spawn(3) in a session of its own, stdout and stderr on pipes,
/// stdin on /dev/null; its exit is seen through a pidfd (<see cref="ExitWatcher"/>) and it is reaped by pid.
/// </summary>
/// <remarks>
/// <para>Why not <see cref="System.Diagnostics.Process"/> with setsid(1): that is two execs per attempt (setsid, then the
/// command), and with `true` tasks process creation is most of the server's CPU. glibc's posix_spawn clones with
/// CLONE_VFORK (no copy of the server's page tables) and POSIX_SPAWN_SETSID does setsid(2) in the child itself.</para>
/// <para>The pid stays ours until <see cref="Reap"/>: the exited root is a zombie until then, so its pid (and the
/// process group id of the same number) cannot be reused while the group is being killed.</para>
/// </remarks>
internal sealed class SpawnedProcess : IAttemptProcess
{
    private static readonly Lazy<nint> Attributes = new(CreateAttributes, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<bool> LazyIsSupported = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<bool> CanCloseFrom = new(ProbeCloseFrom, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly int _pidfd;
    private bool _exitSeen;
    private bool _reaped;
    private bool _abandoned;
    private int? _exitCode;

    private SpawnedProcess(int pid, int pidfd, Stream stdout, Stream stderr)
    {
        Id = pid;
        _pidfd = pidfd;
        Stdout = stdout;
        Stderr = stderr;
    }

    /// <summary>
    /// Whether this libc and kernel have what is needed: POSIX_SPAWN_SETSID (glibc 2.26+), addchdir_np (glibc 2.29+)
    /// and pidfd_open (Linux 5.3+). Otherwise the executor starts processes through setsid(1).
    /// </summary>
    public static bool IsSupported => LazyIsSupported.Value;

    public int Id { get; }

    public Stream Stdout { get; }

    public Stream Stderr { get; }

    public bool HasExited
    {
        get
        {
            lock (_gate)
            {
                return _exitSeen;
            }
        }
    }

    public int? ExitCode
    {
        get
        {
            lock (_gate)
            {
                return _exitCode;
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="executable"/> with the arguments <paramref name="argv"/>[1..] (argv[0] is the executable) and exactly
    /// <paramref name="environment"/>, in <paramref name="workDirectory"/>; null with the reason when it cannot be started.
    /// </summary>
    public static SpawnedProcess? Start(
        string executable,
        IReadOnlyList<string> argv,
        IReadOnlyDictionary<string, string> environment,
        string workDirectory,
        out string error)
    {
        error = "";
        var stdout = new int[2];
        var stderr = new int[2];
        if (SpawnNative.Pipe2(stdout, SpawnNative.OpenCloseOnExec) != 0)
        {
            error = LastError();
            return null;
        }
        if (SpawnNative.Pipe2(stderr, SpawnNative.OpenCloseOnExec) != 0)
        {
            error = LastError();
            CloseAll(stdout[0], stdout[1]);
            return null;
        }

        var fileActions = Marshal.AllocHGlobal(SpawnNative.OpaqueSize);
        var strings = new NativeStrings();
        int result;
        int pid;
        try
        {
            _ = SpawnNative.FileActionsInit(fileActions);
            try
            {
                // The dup2'ed copies lose O_CLOEXEC; the originals close at exec. glibc's addchdir runs before the
                // open below in the child, and /dev/null is absolute, so the order does not matter for it.
                result = SpawnNative.FileActionsAddDup2(fileActions, stdout[1], 1);
                result = result != 0 ? result : SpawnNative.FileActionsAddDup2(fileActions, stderr[1], 2);
                result = result != 0 ? result : SpawnNative.FileActionsAddOpen(fileActions, 0, "/dev/null", SpawnNative.OpenReadOnly, 0);
                result = result != 0 ? result : SpawnNative.FileActionsAddChdir(fileActions, workDirectory);
                if (result == 0 && CanCloseFrom.Value)
                {
                    // The server's own descriptors are O_CLOEXEC, but what its parent passed down without it (a
                    // supervisor's pipe, say) would reach every task and could hold that pipe open.
                    result = SpawnNative.FileActionsAddCloseFrom(fileActions, 3);
                }
                pid = 0;
                if (result == 0)
                {
                    var path = strings.Add(executable);
                    var argvBlock = strings.AddArray([executable, .. argv.Skip(1)]);
                    var envpBlock = strings.AddArray([.. environment.Select(pair => pair.Key + "=" + pair.Value)]);
                    result = SpawnNative.PosixSpawn(out pid, path, fileActions, Attributes.Value, argvBlock, envpBlock);
                }
            }
            finally
            {
                _ = SpawnNative.FileActionsDestroy(fileActions);
            }
        }
        finally
        {
            strings.Dispose();
            Marshal.FreeHGlobal(fileActions);
            // The child has its copies (or there is no child): the write ends must go, or the pipes never end.
            CloseAll(stdout[1], stderr[1]);
        }
        if (result != 0)
        {
            error = Marshal.GetPInvokeErrorMessage(result);
            CloseAll(stdout[0], stderr[0]);
            return null;
        }

        var pidfd = SpawnNative.PidfdOpen(pid);
        if (pidfd < 0)
        {
            error = "pidfd_open: " + LastError();
            KillAndReap(pid);
            CloseAll(stdout[0], stderr[0]);
            return null;
        }
        var process = new SpawnedProcess(pid, pidfd, OpenRead(stdout[0]), OpenRead(stderr[0]));
        var watchError = ExitWatcher.Shared.Watch(process, pidfd);
        if (watchError != 0)
        {
            error = "epoll_ctl: " + Marshal.GetPInvokeErrorMessage(watchError);
            KillAndReap(pid);
            _ = SpawnNative.Close(pidfd);
            process.Stdout.Dispose();
            process.Stderr.Dispose();
            return null;
        }
        return process;
    }

    /// <summary>Completes when the process has exited (it is then a zombie until <see cref="Reap"/>).</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _exited.Task.WaitAsync(cancellationToken);

    /// <summary>Called once by the <see cref="ExitWatcher"/> when the pidfd became readable.</summary>
    public void OnExited()
    {
        lock (_gate)
        {
            _exitSeen = true;
            if (_abandoned)
            {
                // The owner gave up waiting (a process stuck in uninterruptible I/O): it is reaped here instead.
                ReapLocked();
                return;
            }
        }
        _exited.TrySetResult();
    }

    /// <summary>Collects the exited process's status (no-op before its exit was seen or after it was reaped).</summary>
    public void Reap()
    {
        lock (_gate)
        {
            if (_exitSeen && !_reaped)
            {
                ReapLocked();
            }
        }
    }

    /// <summary>
    /// SIGKILL to the root and to its descendants found by walking the tree, for when the root still runs:
    /// stopped first so that it cannot start new children while they are listed, as .NET's Process.Kill(true) does.
    /// </summary>
    public void KillRootAndDescendants()
    {
        lock (_gate)
        {
            // After the reap the pid may be someone else's.
            if (_reaped)
            {
                return;
            }
            var stopped = new List<int>();
            var visited = new HashSet<int>();
            var pending = new Stack<int>();
            pending.Push(Id);
            while (pending.Count > 0)
            {
                var pid = pending.Pop();
                if (!visited.Add(pid))
                {
                    continue;
                }
                _ = SpawnNative.Kill(pid, SpawnNative.SigStop);
                stopped.Add(pid);
                foreach (var child in ProcessTree.ReadChildren(pid))
                {
                    pending.Push(child);
                }
            }
            foreach (var pid in stopped)
            {
                _ = SpawnNative.Kill(pid, SpawnNative.SigKill);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (!_reaped)
            {
                if (!_exitSeen)
                {
                    // Still running after the kill: the watcher reaps it when it finally exits.
                    _abandoned = true;
                }
                else
                {
                    ReapLocked();
                }
            }
        }
        Stdout.Dispose();
        Stderr.Dispose();
    }

    private void ReapLocked()
    {
        int waited;
        int status;
        do
        {
            // The pidfd was readable, so the zombie is there and this does not block.
            waited = SpawnNative.WaitPid(Id, out status, 0);
        }
        while (waited < 0 && Marshal.GetLastPInvokeError() == SpawnNative.Interrupted);
        _reaped = true;
        _exitCode = waited == Id ? SpawnNative.ExitCodeFromStatus(status) : null;
        _ = SpawnNative.Close(_pidfd);
    }

    private static void KillAndReap(int pid)
    {
        _ = SpawnNative.Kill(-pid, SpawnNative.SigKill);
        _ = SpawnNative.Kill(pid, SpawnNative.SigKill);
        while (SpawnNative.WaitPid(pid, out _, 0) < 0 && Marshal.GetLastPInvokeError() == SpawnNative.Interrupted)
        {
        }
    }

    private static Stream OpenRead(int fd) =>
        // What Process does with a redirected stream: async reads go through the socket engine's epoll.
        new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(fd, ownsHandle: true));

    private static void CloseAll(params int[] fds)
    {
        foreach (var fd in fds)
        {
            _ = SpawnNative.Close(fd);
        }
    }

    private static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());

    private static nint CreateAttributes()
    {
        // Shared by every spawn: posix_spawn only reads it.
        var attributes = Marshal.AllocHGlobal(SpawnNative.OpaqueSize);
        var signals = Marshal.AllocHGlobal(SpawnNative.OpaqueSize);
        try
        {
            _ = SpawnNative.AttributesInit(attributes);
            // Own session and process group; no signal blocked; every signal at its default. The server
            // ignores SIGPIPE, and an ignored signal would stay ignored across exec (`yes | head` would never end).
            // glibc leaves its two internal signals (32, 33, below SIGRTMIN) ignored whatever is asked here.
            var result = SpawnNative.AttributesSetFlags(attributes,
                SpawnNative.SpawnSetSid | SpawnNative.SpawnSetSignalMask | SpawnNative.SpawnSetSignalDefaults);
            _ = SpawnNative.SignalSetEmpty(signals);
            result |= SpawnNative.AttributesSetSignalMask(attributes, signals);
            _ = SpawnNative.SignalSetFill(signals);
            result |= SpawnNative.AttributesSetSignalDefaults(attributes, signals);
            if (result != 0)
            {
                _ = SpawnNative.AttributesDestroy(attributes);
                Marshal.FreeHGlobal(attributes);
                return 0;
            }
            return attributes;
        }
        finally
        {
            Marshal.FreeHGlobal(signals);
        }
    }

    private static bool Probe()
    {
        try
        {
            if (Attributes.Value == 0)
            {
                // An older libc refuses POSIX_SPAWN_SETSID with EINVAL.
                return false;
            }
            var fileActions = Marshal.AllocHGlobal(SpawnNative.OpaqueSize);
            try
            {
                _ = SpawnNative.FileActionsInit(fileActions);
                var chdir = SpawnNative.FileActionsAddChdir(fileActions, "/");
                _ = SpawnNative.FileActionsDestroy(fileActions);
                if (chdir != 0)
                {
                    return false;
                }
            }
            finally
            {
                Marshal.FreeHGlobal(fileActions);
            }
            var pidfd = SpawnNative.PidfdOpen(Environment.ProcessId);
            if (pidfd < 0)
            {
                return false;
            }
            _ = SpawnNative.Close(pidfd);
            _ = ExitWatcher.Shared;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException)
        {
            return false;
        }
    }

    private static bool ProbeCloseFrom()
    {
        var fileActions = Marshal.AllocHGlobal(SpawnNative.OpaqueSize);
        try
        {
            _ = SpawnNative.FileActionsInit(fileActions);
            var result = SpawnNative.FileActionsAddCloseFrom(fileActions, 3);
            _ = SpawnNative.FileActionsDestroy(fileActions);
            return result == 0;
        }
        catch (EntryPointNotFoundException)
        {
            // glibc before 2.34: inherited descriptors without O_CLOEXEC reach the task, as with Process.Start.
            return false;
        }
        finally
        {
            Marshal.FreeHGlobal(fileActions);
        }
    }

    /// <summary>NUL-terminated UTF-8 strings and NULL-terminated pointer arrays in native memory, freed together.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public nint Add(string value)
        {
            var length = Encoding.UTF8.GetByteCount(value);
            var block = Marshal.AllocHGlobal(length + 1);
            _blocks.Add(block);
            var bytes = new byte[length + 1];
            Encoding.UTF8.GetBytes(value, bytes);
            Marshal.Copy(bytes, 0, block, bytes.Length);
            return block;
        }

        public nint AddArray(IReadOnlyList<string> values)
        {
            var array = Marshal.AllocHGlobal((values.Count + 1) * nint.Size);
            _blocks.Add(array);
            for (var i = 0; i < values.Count; i++)
            {
                Marshal.WriteIntPtr(array, i * nint.Size, Add(values[i]));
            }
            Marshal.WriteIntPtr(array, values.Count * nint.Size, 0);
            return array;
        }

        public void Dispose()
        {
            foreach (var block in _blocks)
            {
                Marshal.FreeHGlobal(block);
            }
        }
    }
}
