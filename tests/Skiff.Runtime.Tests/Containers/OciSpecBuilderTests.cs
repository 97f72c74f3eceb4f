using System.Text.Json;
using Skiff.Core.Tasks;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;

namespace Skiff.Runtime.Tests.Containers;

public sealed class OciSpecBuilderTests
{
    private static readonly RuncOptions Options = new() { StateRoot = "/data/runc", ImagesDirectory = "/data/images" };

    private static JsonElement Generate(ExecutionRequest request)
    {
        var spec = OciSpecBuilder.Build(request, "t_a-2", "/data/images/busybox/rootfs", Options, swapAccounted: true);
        return JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.OciSpec)).RootElement;
    }

    private static ExecutionRequest Request(string network = "none") => new()
    {
        TaskId = "t_a",
        Attempt = 2,
        Command = ["echo", "hi"],
        Cpu = 256,
        MemoryMb = 100,
        Network = network,
        WorkDirectory = "/data/work/t_a",
        OutputDirectory = "/data/out/t_a",
    };

    [Fact]
    public void Build_Default_UsesOciFieldNamesAndHardenedSettings()
    {
        var spec = Generate(Request());

        Assert.Equal("1.0.2", spec.GetProperty("ociVersion").GetString());
        var process = spec.GetProperty("process");
        Assert.False(process.GetProperty("terminal").GetBoolean());
        Assert.True(process.GetProperty("noNewPrivileges").GetBoolean());
        Assert.Equal(65534u, process.GetProperty("user").GetProperty("uid").GetUInt32());
        Assert.Equal(65534u, process.GetProperty("user").GetProperty("gid").GetUInt32());
        Assert.Equal(["/.skiff/tini", "--", "echo", "hi"], process.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Contains("SKIFF_ATTEMPT=2", process.GetProperty("env").EnumerateArray().Select(e => e.GetString()));
        Assert.All(process.GetProperty("capabilities").EnumerateObject(), set => Assert.Equal(0, set.Value.GetArrayLength()));
        var rlimit = process.GetProperty("rlimits")[0];
        Assert.Equal("RLIMIT_NOFILE", rlimit.GetProperty("type").GetString());
        Assert.Equal(4096ul, rlimit.GetProperty("hard").GetUInt64());
        Assert.True(spec.GetProperty("root").GetProperty("readonly").GetBoolean());
        Assert.Equal("t_a", spec.GetProperty("hostname").GetString());

        var linux = spec.GetProperty("linux");
        Assert.Equal("/skiff/t_a-2", linux.GetProperty("cgroupsPath").GetString());
        Assert.Equal(["pid", "mount", "ipc", "uts", "network"], linux.GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()));
        var resources = linux.GetProperty("resources");
        Assert.Equal(100L << 20, resources.GetProperty("memory").GetProperty("limit").GetInt64());
        Assert.Equal(100L << 20, resources.GetProperty("memory").GetProperty("swap").GetInt64());
        Assert.Equal(25000, resources.GetProperty("cpu").GetProperty("quota").GetInt64());
        Assert.Equal(100000, resources.GetProperty("cpu").GetProperty("period").GetInt64());
        Assert.Equal(TaskDefaults.PidsLimit, resources.GetProperty("pids").GetProperty("limit").GetInt64());
        Assert.Contains("/proc/kcore", linux.GetProperty("maskedPaths").EnumerateArray().Select(p => p.GetString()));
        Assert.Contains("/proc/sys", linux.GetProperty("readonlyPaths").EnumerateArray().Select(p => p.GetString()));
        var seccomp = linux.GetProperty("seccomp");
        Assert.Equal("SCMP_ACT_ALLOW", seccomp.GetProperty("defaultAction").GetString());
        Assert.Contains("mount", seccomp.GetProperty("syscalls")[0].GetProperty("names").EnumerateArray().Select(n => n.GetString()));

        var mounts = spec.GetProperty("mounts").EnumerateArray().ToDictionary(m => m.GetProperty("destination").GetString()!);
        Assert.Equal("tmpfs", mounts["/work"].GetProperty("type").GetString());
        Assert.Equal(["nosuid", "nodev", "mode=0755", "size=1024m", "uid=65534", "gid=65534"], mounts["/work"].GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        Assert.Equal("/data/out/t_a", mounts["/output"].GetProperty("source").GetString());
        Assert.Contains("ro", mounts["/.skiff/tini"].GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        Assert.Contains("size=1024m", mounts["/tmp"].GetProperty("options").EnumerateArray().Select(o => o.GetString()));
    }

    [Fact]
    public void Build_RequestBinds_MountedReadOnlyAtTheirDestination()
    {
        var spec = Generate(Request() with { Binds = [new ReadOnlyBind("/usr/share/dotnet", "/.skiff/dotnet")] });

        var mount = spec.GetProperty("mounts").EnumerateArray().Single(m => m.GetProperty("destination").GetString() == "/.skiff/dotnet");
        Assert.Equal("/usr/share/dotnet", mount.GetProperty("source").GetString());
        Assert.Equal(["bind", "ro", "nosuid", "nodev"], mount.GetProperty("options").EnumerateArray().Select(o => o.GetString()));
    }

    [Fact]
    public void Build_HostNetwork_OmitsNetworkNamespace()
    {
        var spec = Generate(Request(network: "host"));

        Assert.DoesNotContain("network", spec.GetProperty("linux").GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()));
    }

    [Fact]
    public void Build_TaskLimits_MapToPidsTmpfsSizeAndProcessUser()
    {
        var spec = Generate(Request() with { PidsLimit = 20, EphemeralStorageMb = 4, User = new TaskUser(1000, 1001) });

        Assert.Equal(20, spec.GetProperty("linux").GetProperty("resources").GetProperty("pids").GetProperty("limit").GetInt64());
        var user = spec.GetProperty("process").GetProperty("user");
        Assert.Equal(1000u, user.GetProperty("uid").GetUInt32());
        Assert.Equal(1001u, user.GetProperty("gid").GetUInt32());
        var tmp = spec.GetProperty("mounts").EnumerateArray().Single(m => m.GetProperty("destination").GetString() == "/tmp");
        var options = tmp.GetProperty("options").EnumerateArray().Select(o => o.GetString()).ToList();
        Assert.Equal("tmpfs", tmp.GetProperty("type").GetString());
        Assert.Contains("size=4m", options);
        Assert.Single(options, o => o!.StartsWith("size=", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1024, 100000)]
    [InlineData(128, 12500)]
    [InlineData(4096, 400000)]
    public void CpuQuota_CpuUnits_MapToCfsQuota(int cpu, long quota) => Assert.Equal(quota, OciSpecBuilder.CpuQuota(cpu));
}
