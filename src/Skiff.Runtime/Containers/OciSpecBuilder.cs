using System.Globalization;
using System.Runtime.InteropServices;
using Skiff.Runtime.Execution;

namespace Skiff.Runtime.Containers;

/// <summary>Generates the hardened config.json for one attempt.</summary>
internal static class OciSpecBuilder
{
    public const string TiniInside = "/.skiff/tini";
    public const string WorkInside = "/work";
    public const string OutputInside = "/output";
    public const string HostNetwork = "host";

    internal const ulong CpuPeriodMicroseconds = 100_000;
    internal const int CpuUnitsPerCore = 1024;

    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private const uint EPerm = 1;
    private const uint ENoSys = 38;
    private const ulong CloneNewUser = 0x10000000;

    // As in runc's default spec (`runc spec`).
    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    ];

    private static readonly string[] ReadonlyPaths =
    [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ];

    // A short deny-list rather than Docker's full allow-list: runc compiles the profile on every start and
    // the full one costs ~20 ms there, this one ~6 ms. Without capabilities most of these fail anyway; the
    // list is the second wall for kernel attack surface that needs no capability.
    private static readonly string[] DeniedSyscalls =
    [
        "mount", "umount2", "ptrace", "kexec_load", "kexec_file_load", "init_module", "finit_module",
        "delete_module", "reboot", "swapon", "swapoff", "pivot_root", "chroot", "unshare", "setns", "keyctl",
        "add_key", "request_key", "bpf", "perf_event_open", "open_by_handle_at", "name_to_handle_at",
        "userfaultfd", "acct", "quotactl", "lookup_dcookie", "process_vm_readv", "process_vm_writev",
        "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "fspick",
    ];

    public static OciSpec Build(
        ExecutionRequest request,
        string containerId,
        string rootfs,
        RuncOptions options,
        bool swapAccounted,
        IReadOnlyList<string>? hostBinds = null,
        IReadOnlyList<OciMount>? extraMounts = null)
    {
        var memoryBytes = (long)request.MemoryMb * 1024 * 1024;
        var size = $"size={request.EphemeralStorageMb.ToString(CultureInfo.InvariantCulture)}m";
        var namespaces = new List<OciNamespace> { new("pid"), new("mount"), new("ipc"), new("uts") };
        if (!string.Equals(request.Network, HostNetwork, StringComparison.Ordinal))
        {
            namespaces.Add(new OciNamespace("network"));
        }

        return new OciSpec
        {
            Process = new OciProcess
            {
                User = new OciUser(request.User.Uid, request.User.Gid),
                Args = [TiniInside, "--", .. request.Command],
                Env = BuildEnvironment(request),
                Cwd = WorkInside,
                Capabilities = new OciCapabilities(),
                Rlimits = [new OciRlimit("RLIMIT_NOFILE", (ulong)options.OpenFilesLimit, (ulong)options.OpenFilesLimit)],
                NoNewPrivileges = true,
            },
            Root = new OciRoot(rootfs, ReadOnly: true),
            Hostname = request.TaskId,
            Mounts =
            [
                // The image's host directories (the host image: /usr, /etc), read-only at the same path.
                .. (hostBinds ?? []).Select(path => new OciMount(path, "bind", path, ["bind", "ro", "nosuid", "nodev"])),
                // What the attempt brings along (the skiff program for built-in workloads), read-only.
                .. request.Binds.Select(bind => new OciMount(bind.Destination, "bind", bind.Source, ["bind", "ro", "nosuid", "nodev"])),
                new("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
                new("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                new("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
                new("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
                new("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
                new("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
                new("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777", size]),
                // The working directory is scratch too: capped like /tmp and owned by the task's user. Nothing
                // reads it after the attempt, so it need not be on the host's disk, where nothing caps it.
                new(WorkInside, "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=0755", size, $"uid={request.User.Uid.ToString(CultureInfo.InvariantCulture)}", $"gid={request.User.Gid.ToString(CultureInfo.InvariantCulture)}"]),
                new(OutputInside, "bind", request.OutputDirectory, ["rbind", "rw", "nosuid", "nodev"]),
                new(TiniInside, "bind", options.TiniPath, ["bind", "ro", "nosuid", "nodev"]),
                .. extraMounts ?? [],
            ],
            Linux = new OciLinux
            {
                Namespaces = namespaces,
                CgroupsPath = Cgroups.RelativePath(containerId),
                Resources = new OciResources
                {
                    // Deny every device node; runc still creates and allows its defaults (null, zero, full,
                    // random, urandom, tty, ptmx).
                    Devices = [new OciDeviceRule(Allow: false, "rwm")],
                    Memory = new OciMemory { Limit = memoryBytes, Swap = swapAccounted ? memoryBytes : null },
                    Cpu = new OciCpu(CpuQuota(request.Cpu), CpuPeriodMicroseconds),
                    Pids = new OciPids(request.PidsLimit),
                },
                MaskedPaths = MaskedPaths,
                ReadonlyPaths = ReadonlyPaths,
                Seccomp = BuildSeccomp(),
            },
        };
    }

    /// <summary>CFS quota for a CPU share in units where 1024 is one full core.</summary>
    internal static long CpuQuota(int cpu) => (long)cpu * (long)CpuPeriodMicroseconds / CpuUnitsPerCore;

    private static List<string> BuildEnvironment(ExecutionRequest request) =>
        [.. EnvironmentOf(request).Select(variable => variable.Key + "=" + variable.Value)];

    /// <summary>The attempt's environment inside its container, in order: defaults, the task's, Skiff's own.</summary>
    internal static Dictionary<string, string> EnvironmentOf(ExecutionRequest request)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = DefaultPath,
            ["HOME"] = WorkInside,
        };
        foreach (var (name, value) in request.Env)
        {
            environment[name] = value;
        }
        // Last, so a task cannot be told a different output directory or identity.
        environment["SKIFF_OUTPUT"] = OutputInside;
        environment["SKIFF_TASK_ID"] = request.TaskId;
        environment["SKIFF_ATTEMPT"] = request.Attempt.ToString(CultureInfo.InvariantCulture);
        return environment;
    }

    private static OciSeccomp BuildSeccomp() => new()
    {
        DefaultAction = "SCMP_ACT_ALLOW",
        // Every ABI the kernel accepts on this machine: a deny-list for the native one alone is bypassed by
        // making the same call through the 32-bit entry point.
        Architectures = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            Architecture.Arm64 => ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            _ => [],
        },
        Syscalls =
        [
            new OciSyscall { Names = DeniedSyscalls, Action = "SCMP_ACT_ERRNO", ErrnoRet = EPerm },
            // New user namespaces would hand the task capabilities over its own namespaces, the usual first
            // step of a kernel exploit. clone3 passes flags in memory that seccomp cannot inspect, so it
            // reports ENOSYS and the C libraries fall back to clone, whose flags are checked.
            new OciSyscall
            {
                Names = ["clone"],
                Action = "SCMP_ACT_ERRNO",
                ErrnoRet = EPerm,
                Args = [new OciSyscallArg(0, CloneNewUser, CloneNewUser, "SCMP_CMP_MASKED_EQ")],
            },
            new OciSyscall { Names = ["clone3"], Action = "SCMP_ACT_ERRNO", ErrnoRet = ENoSys },
        ],
    };
}
