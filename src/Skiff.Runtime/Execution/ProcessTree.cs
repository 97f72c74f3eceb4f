using System.Globalization;
using System.Runtime.InteropServices;

namespace Skiff.Runtime.Execution;

/// <summary>
/// The processes one attempt started: samples their CPU time and memory from /proc and kills all of them.
/// </summary>
/// <remarks>
/// Usage here is sampled, so it is best effort: CPU burnt in the last sampling interval before the root exits,
/// and by descendants nobody waited for, is missed (after the root is reaped its /proc entry, and with it
/// <see cref="System.Diagnostics.Process.TotalProcessorTime"/>, is gone). The runc executor reads exact
/// figures from the container's cgroup instead.
/// </remarks>
internal sealed class ProcessTree
{
    private const int SigKill = 9;
    private const int ScClockTicks = 2;
    private const long FallbackClockTicksPerSecond = 100;

    private static readonly long ClockTicksPerSecond = ReadClockTicksPerSecond();

    private readonly int _rootPid;
    private readonly bool _ownsProcessGroup;
    private readonly Lock _gate = new();
    // Every descendant ever sampled (pid → start time), so a kill also reaches those that were reparented
    // away from the root and are no longer found by walking its children.
    private readonly Dictionary<int, ulong> _seen = [];
    private ulong? _rootStartTime;
    private long _peakCpuTicks;
    private long _peakMemoryBytes;

    /// <param name="rootPid">The attempt's root process.</param>
    /// <param name="ownsProcessGroup">
    /// Whether the root leads its own process group (started through setsid), so that killing the group
    /// reaches every process that did not move itself to another group, orphans included.
    /// </param>
    public ProcessTree(int rootPid, bool ownsProcessGroup)
    {
        _rootPid = rootPid;
        _ownsProcessGroup = ownsProcessGroup;
    }

    /// <summary>The most CPU time the tree was seen to have used (user + system, including waited-for children).</summary>
    public long CpuMs
    {
        get
        {
            lock (_gate)
            {
                return _peakCpuTicks * 1000 / ClockTicksPerSecond;
            }
        }
    }

    /// <summary>
    /// The larger of the most resident memory seen across the tree at one sample and the highest peak
    /// (VmHWM) of any single process in it.
    /// </summary>
    public long PeakMemoryBytes
    {
        get
        {
            lock (_gate)
            {
                return _peakMemoryBytes;
            }
        }
    }

    /// <summary>The root's start time (clock ticks since boot) as the first sample read it; null before that.</summary>
    public ulong? RootStartTime
    {
        get
        {
            lock (_gate)
            {
                return _rootStartTime;
            }
        }
    }

    /// <summary>Samples every <paramref name="interval"/> until cancelled (the caller takes the first sample).</summary>
    public async Task SampleAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, timeProvider);
        // Disposing the timer ends the wait with false: stopping, once per attempt, throws no exception.
        using var stop = cancellationToken.UnsafeRegister(static state => ((PeriodicTimer)state!).Dispose(), timer);
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false))
        {
            Sample();
        }
    }

    /// <summary>Reads the tree's current usage once and folds it into the peaks.</summary>
    public void Sample()
    {
        if (!TryReadStat(_rootPid, out var root))
        {
            return;
        }
        lock (_gate)
        {
            _rootStartTime ??= root.StartTime;
            if (_rootStartTime != root.StartTime)
            {
                // The root has exited and its pid already belongs to someone else.
                return;
            }
        }

        long cpuTicks = 0;
        long residentSum = 0;
        long highWaterMax = 0;
        var descendants = new List<(int Pid, ulong StartTime)>();
        var visited = new HashSet<int>();
        var pending = new Stack<int>();
        pending.Push(_rootPid);
        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            if (!visited.Add(pid) || !TryReadStat(pid, out var stat))
            {
                continue;
            }
            if (pid != _rootPid)
            {
                descendants.Add((pid, stat.StartTime));
            }
            // Time of children the process already waited for is in cutime/cstime; a child still running
            // is counted on its own, so nothing is counted twice within one sample.
            cpuTicks += stat.CpuTicks;
            var (resident, highWater) = ReadMemory(pid);
            residentSum += resident;
            highWaterMax = Math.Max(highWaterMax, highWater);
            foreach (var child in ReadChildren(pid))
            {
                pending.Push(child);
            }
        }

        lock (_gate)
        {
            _peakCpuTicks = Math.Max(_peakCpuTicks, cpuTicks);
            _peakMemoryBytes = Math.Max(_peakMemoryBytes, Math.Max(residentSum, highWaterMax));
            foreach (var (pid, startTime) in descendants)
            {
                _seen[pid] = startTime;
            }
        }
    }

    /// <summary>
    /// Sends SIGKILL to the root's process group (when it owns one), to the root and its current
    /// descendants, and to every descendant sampled earlier that still runs. Safe to call after the root
    /// exited, to remove what it left behind.
    /// </summary>
    public void KillAll(IAttemptProcess root)
    {
        // The group first: one signal reaches every member at once, so none can fork replacements.
        if (_ownsProcessGroup)
        {
            TryKill(-_rootPid);
        }

        root.KillRootAndDescendants();

        KeyValuePair<int, ulong>[] seen;
        lock (_gate)
        {
            seen = [.. _seen];
        }
        foreach (var (pid, startTime) in seen)
        {
            // The start time guards against signalling an unrelated process that reused the pid.
            if (TryReadStat(pid, out var stat) && stat.StartTime == startTime && stat.State != 'Z')
            {
                TryKill(pid);
            }
        }
    }

    /// <summary>Whether a process with this pid exists and has not exited (a zombie counts as exited).</summary>
    public static bool IsAlive(int pid) => TryReadStat(pid, out var stat) && stat.State != 'Z';

    internal readonly record struct ProcStat(char State, int ParentPid, int ProcessGroup, long CpuTicks, ulong StartTime);

    /// <summary>Parses /proc/PID/stat; false when the process is gone or /proc is unavailable.</summary>
    internal static bool TryReadStat(int pid, out ProcStat stat)
    {
        stat = default;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        return TryParseStat(text, out stat);
    }

    internal static bool TryParseStat(string text, out ProcStat stat)
    {
        stat = default;
        // The command name (field 2) is in parentheses and may itself contain spaces and parentheses,
        // so the fields are counted from the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return false;
        }
        var fields = text[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 of proc(5): state, ppid, pgrp, ..., utime (14), stime, cutime, cstime, ..., starttime (22).
        if (fields.Length < 20
            || !int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var parent)
            || !int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var group)
            || !long.TryParse(fields[11], NumberStyles.Integer, CultureInfo.InvariantCulture, out var utime)
            || !long.TryParse(fields[12], NumberStyles.Integer, CultureInfo.InvariantCulture, out var stime)
            || !long.TryParse(fields[13], NumberStyles.Integer, CultureInfo.InvariantCulture, out var cutime)
            || !long.TryParse(fields[14], NumberStyles.Integer, CultureInfo.InvariantCulture, out var cstime)
            || !ulong.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var startTime))
        {
            return false;
        }
        stat = new ProcStat(fields[0][0], parent, group, utime + stime + cutime + cstime, startTime);
        return true;
    }

    private static (long Resident, long HighWater) ReadMemory(int pid)
    {
        long resident = 0;
        long highWater = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    resident = ParseKiloBytes(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    highWater = ParseKiloBytes(line);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Exited between reading its stat and its status.
        }
        return (resident, highWater);
    }

    private static long ParseKiloBytes(string line)
    {
        // "VmHWM:\t    1234 kB"
        var value = line.AsSpan(line.IndexOf(':') + 1).Trim();
        var space = value.IndexOf(' ');
        if (space > 0)
        {
            value = value[..space];
        }
        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : 0;
    }

    internal static List<int> ReadChildren(int pid)
    {
        // A child is listed under the thread that forked it, so every thread's list is read.
        var children = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                string text;
                try
                {
                    text = File.ReadAllText(Path.Combine(task, "children"));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var child))
                    {
                        children.Add(child);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Exited while being read.
        }
        return children;
    }

    /// <summary>SIGKILL to every member of the process group led by <paramref name="leaderPid"/>.</summary>
    internal static void KillGroup(int leaderPid) => TryKill(-leaderPid);

    private static void TryKill(int pid)
    {
        try
        {
            // ESRCH (nothing left to kill) is the common, harmless failure.
            _ = NativeMethods.Kill(pid, SigKill);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call (not a Unix): Process.Kill(entireProcessTree) is all there is.
        }
    }

    private static long ReadClockTicksPerSecond()
    {
        try
        {
            var ticks = (long)NativeMethods.SysConf(ScClockTicks);
            return ticks > 0 ? ticks : FallbackClockTicksPerSecond;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return FallbackClockTicksPerSecond;
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);

        [DllImport("libc", EntryPoint = "sysconf")]
        public static extern nint SysConf(int name);
    }
}
