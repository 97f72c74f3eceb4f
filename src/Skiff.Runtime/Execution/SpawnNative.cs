using System.Runtime.InteropServices;

namespace Skiff.Runtime.Execution;

/// <summary>The libc calls behind <see cref="SpawnedProcess"/> and <see cref="ExitWatcher"/>, which .NET has no API for.</summary>
internal static class SpawnNative
{
    public const int OpenCloseOnExec = 0x80000; // O_CLOEXEC (also EPOLL_CLOEXEC)
    public const int OpenReadOnly = 0;
    public const short SpawnSetSignalDefaults = 0x04; // POSIX_SPAWN_SETSIGDEF
    public const short SpawnSetSignalMask = 0x08; // POSIX_SPAWN_SETSIGMASK
    public const short SpawnSetSid = 0x80; // POSIX_SPAWN_SETSID, glibc 2.26+
    public const int WaitNoHang = 1; // WNOHANG
    public const int Interrupted = 4; // EINTR
    public const int EpollCtlAdd = 1;
    public const uint EpollIn = 0x001;
    public const uint EpollOneShot = 1u << 30;
    public const int SigKill = 9;
    public const int SigStop = 19;

    // Same number on every architecture (the syscall table was unified before 5.3).
    private const long SysPidfdOpen = 434;

    // Opaque glibc/musl types, allocated larger than any libc's layout (glibc x86-64: attr 336 bytes,
    // file actions 80, sigset_t 128) so nothing here depends on their size.
    public const int OpaqueSize = 1024;

    // struct epoll_event is packed on x86 and x86-64 only: { u32 events; u64 data } is 12 bytes there, 16 elsewhere.
    public static readonly int EpollEventSize =
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 12 : 16;
    public static readonly int EpollDataOffset = EpollEventSize == 12 ? 4 : 8;

    /// <summary>posix_spawn returns the error number instead of setting errno.</summary>
    [DllImport("libc", EntryPoint = "posix_spawn")]
    public static extern int PosixSpawn(out int pid, nint path, nint fileActions, nint attributes, nint argv, nint envp);

    [DllImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    public static extern int FileActionsInit(nint fileActions);

    [DllImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    public static extern int FileActionsDestroy(nint fileActions);

    [DllImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static extern int FileActionsAddDup2(nint fileActions, int fd, int newFd);

    [DllImport("libc", EntryPoint = "posix_spawn_file_actions_addopen")]
    public static extern int FileActionsAddOpen(nint fileActions, int fd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mode);

    /// <summary>glibc 2.29+, musl 1.1.24+.</summary>
    [DllImport("libc", EntryPoint = "posix_spawn_file_actions_addchdir_np")]
    public static extern int FileActionsAddChdir(nint fileActions, [MarshalAs(UnmanagedType.LPUTF8Str)] string path);

    /// <summary>glibc 2.34+: closes every descriptor from <paramref name="lowFd"/> up in the child (close_range).</summary>
    [DllImport("libc", EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    public static extern int FileActionsAddCloseFrom(nint fileActions, int lowFd);

    [DllImport("libc", EntryPoint = "posix_spawnattr_init")]
    public static extern int AttributesInit(nint attributes);

    [DllImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    public static extern int AttributesDestroy(nint attributes);

    [DllImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    public static extern int AttributesSetFlags(nint attributes, short flags);

    [DllImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    public static extern int AttributesSetSignalMask(nint attributes, nint signals);

    [DllImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    public static extern int AttributesSetSignalDefaults(nint attributes, nint signals);

    [DllImport("libc", EntryPoint = "sigemptyset")]
    public static extern int SignalSetEmpty(nint signals);

    [DllImport("libc", EntryPoint = "sigfillset")]
    public static extern int SignalSetFill(nint signals);

    [DllImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static extern int Pipe2([Out] int[] fds, int flags);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    public static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static extern int WaitPid(int pid, out int status, int options);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long Syscall(long number, long argument1, long argument2);

    [DllImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static extern int EpollCreate(int flags);

    [DllImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static extern int EpollControl(int epoll, int operation, int fd, nint epollEvent);

    [DllImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static extern int EpollWait(int epoll, nint events, int maxEvents, int timeoutMs);

    /// <summary>pidfd_open(2), Linux 5.3+: a descriptor that becomes readable when the process exits.</summary>
    public static int PidfdOpen(int pid) => (int)Syscall(SysPidfdOpen, pid, 0);

    /// <summary>The exit code .NET reports for a wait status: the code, or 128 + the signal that killed it.</summary>
    public static int ExitCodeFromStatus(int status)
    {
        var signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }
}
