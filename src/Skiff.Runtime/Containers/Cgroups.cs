using System.Globalization;

namespace Skiff.Runtime.Containers;

/// <summary>Which cgroup layout the host uses (decides the files usage and OOM kills are read from).</summary>
internal enum CgroupVersion
{
    /// <summary>One hierarchy per controller under /sys/fs/cgroup/&lt;controller&gt; (hybrid hosts included).</summary>
    V1,
    /// <summary>The unified hierarchy at /sys/fs/cgroup with the memory controller in it.</summary>
    V2,
}

/// <summary>What a container's cgroup recorded, read after its processes ended and before it is deleted.</summary>
internal readonly record struct CgroupStats(long CpuMs, long PeakMemoryBytes, long OomKills);

/// <summary>Reads and removes the cgroups runc creates for containers at <c>/skiff/&lt;containerId&gt;</c>.</summary>
internal sealed class Cgroups
{
    public const string Parent = "skiff";
    private const string DefaultMountPoint = "/sys/fs/cgroup";

    private readonly string _mountPoint;

    public Cgroups(string mountPoint = DefaultMountPoint)
    {
        _mountPoint = mountPoint;
        Version = Detect(mountPoint);
    }

    public CgroupVersion Version { get; }

    /// <summary>Whether memory+swap can be limited (v1 needs swap accounting in the kernel; v2 always can).</summary>
    public bool SwapAccounted => Version == CgroupVersion.V2
        || File.Exists(Path.Combine(_mountPoint, "memory", "memory.memsw.limit_in_bytes"));

    /// <summary>
    /// The absolute linux.cgroupsPath: absolute so that runc places every controller under the same parent
    /// rather than under each hierarchy's own idea of our cgroup.
    /// </summary>
    public static string RelativePath(string containerId) => "/" + Parent + "/" + containerId;

    internal static CgroupVersion Detect(string mountPoint)
    {
        var controllers = Path.Combine(mountPoint, "cgroup.controllers");
        try
        {
            if (File.Exists(controllers)
                && File.ReadAllText(controllers).Split(' ', '\n').Contains("memory", StringComparer.Ordinal))
            {
                return CgroupVersion.V2;
            }
        }
        catch (IOException)
        {
        }
        return CgroupVersion.V1;
    }

    public CgroupStats Read(string containerId)
    {
        if (Version == CgroupVersion.V2)
        {
            var directory = Path.Combine(_mountPoint, Parent, containerId);
            var cpuMicroseconds = ReadKey(Path.Combine(directory, "cpu.stat"), "usage_usec");
            return new CgroupStats(
                cpuMicroseconds / 1000,
                ReadNumber(Path.Combine(directory, "memory.peak")),
                ReadKey(Path.Combine(directory, "memory.events"), "oom_kill"));
        }
        var memory = Path.Combine(_mountPoint, "memory", Parent, containerId);
        var cpuNanoseconds = ReadNumber(Path.Combine(_mountPoint, "cpuacct", Parent, containerId, "cpuacct.usage"));
        if (cpuNanoseconds == 0)
        {
            // Hosts that co-mount cpu and cpuacct.
            cpuNanoseconds = ReadNumber(Path.Combine(_mountPoint, "cpu,cpuacct", Parent, containerId, "cpuacct.usage"));
        }
        return new CgroupStats(
            cpuNanoseconds / 1_000_000,
            ReadNumber(Path.Combine(memory, "memory.max_usage_in_bytes")),
            ReadKey(Path.Combine(memory, "memory.oom_control"), "oom_kill"));
    }

    /// <summary>Every directory that is (or was) the container's cgroup, in any hierarchy.</summary>
    public IEnumerable<string> Directories(string containerId) =>
        ParentDirectories().Select(parent => Path.Combine(parent, containerId)).Where(Directory.Exists);

    /// <summary>The skiff parent in every hierarchy where it exists.</summary>
    public IEnumerable<string> ParentDirectories()
    {
        var parents = new List<string>();
        if (Version == CgroupVersion.V2)
        {
            parents.Add(Path.Combine(_mountPoint, Parent));
        }
        else
        {
            try
            {
                parents.AddRange(Directory.EnumerateDirectories(_mountPoint).Select(hierarchy => Path.Combine(hierarchy, Parent)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return parents.Where(Directory.Exists);
    }

    /// <summary>Whether any process is still in the container's cgroups (every process is in every hierarchy: one is read).</summary>
    public bool HasProcesses(string containerId) =>
        Directories(containerId).Select(directory => TryRead(Path.Combine(directory, "cgroup.procs"))).FirstOrDefault(text => text is not null) is { } procs
        && !string.IsNullOrWhiteSpace(procs);

    /// <summary>Removes what runc left of the container's cgroups; true when none remains.</summary>
    public bool Remove(string containerId)
    {
        var clean = true;
        foreach (var directory in Directories(containerId))
        {
            clean &= TryRemove(directory);
        }
        return clean;
    }

    /// <summary>rmdir, which is how cgroups are removed (they must hold no processes and no children).</summary>
    internal static bool TryRemove(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: false);
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

    private static long ReadNumber(string file)
    {
        var text = TryRead(file);
        return text is not null && long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    /// <summary>The value of a "key value" line in a flat-keyed cgroup file (cpu.stat, memory.events, ...).</summary>
    internal static long ReadKey(string file, string key)
    {
        var text = TryRead(file);
        if (text is null)
        {
            return 0;
        }
        foreach (var line in text.Split('\n'))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key)
                && long.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }
        return 0;
    }

    private static string? TryRead(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
