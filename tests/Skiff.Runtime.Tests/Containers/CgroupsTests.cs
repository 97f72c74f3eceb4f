using Skiff.Runtime.Containers;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Containers;

// Fake cgroup trees, so the v2 layout is covered on this v1 machine (and v1 on v2 machines).
public sealed class CgroupsTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private void Write(string relative, string text)
    {
        var path = _root.Combine(relative.Split('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void Read_V2_UsesCpuStatMemoryPeakAndEvents()
    {
        Write("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
        Write("skiff/c1/cpu.stat", "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n");
        Write("skiff/c1/memory.peak", "7340032\n");
        Write("skiff/c1/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");

        var cgroups = new Cgroups(_root.Path);

        Assert.Equal(CgroupVersion.V2, cgroups.Version);
        Assert.True(cgroups.SwapAccounted);
        Assert.Equal(new CgroupStats(123, 7340032, 1), cgroups.Read("c1"));
        Assert.Equal([_root.Combine("skiff", "c1")], cgroups.Directories("c1"));
    }

    [Fact]
    public void Read_V1_UsesCpuacctMaxUsageAndOomControl()
    {
        Write("cgroup.controllers", "hugetlb\n"); // a hybrid host's unified hierarchy without memory
        Write("cpuacct/skiff/c1/cpuacct.usage", "2500000000\n");
        Write("memory/skiff/c1/memory.max_usage_in_bytes", "1048576\n");
        Write("memory/skiff/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        Write("pids/skiff/c1/pids.max", "256\n");

        var cgroups = new Cgroups(_root.Path);

        Assert.Equal(CgroupVersion.V1, cgroups.Version);
        Assert.False(cgroups.SwapAccounted);
        Assert.Equal(new CgroupStats(2500, 1048576, 2), cgroups.Read("c1"));
        Assert.Equal(3, cgroups.Directories("c1").Count());
    }

    [Fact]
    public void Read_Missing_IsZero()
    {
        var cgroups = new Cgroups(_root.Path);

        Assert.Equal(new CgroupStats(0, 0, 0), cgroups.Read("gone"));
        Assert.Empty(cgroups.Directories("gone"));
    }
}
