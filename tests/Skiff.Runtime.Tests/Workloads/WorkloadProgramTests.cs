using Skiff.Runtime.Execution;
using Skiff.Runtime.Workloads;
using Skiff.Testing;
using Xunit;

namespace Skiff.Runtime.Tests.Workloads;

public sealed class WorkloadProgramTests
{
    [Fact]
    public void OnHost_CommandAsGiven_NoImageNoBinds()
    {
        var program = WorkloadProgram.OnHost(["/opt/dotnet/dotnet", "/opt/skiff/skiff.dll"]);

        Assert.Equal(["/opt/dotnet/dotnet", "/opt/skiff/skiff.dll", "workload", "error", "--exitCode", "3"],
            program.CommandFor("error", new Dictionary<string, string> { ["exitCode"] = "3" }));
        Assert.Null(program.Image);
        Assert.Empty(program.Binds);
    }

    [Fact]
    public void InContainer_DotnetAndDll_BindsTheirDirectoriesAndRunsThemFromInside()
    {
        using var directory = new TempDirectory();
        var dotnet = directory.Combine("dotnet", "dotnet");
        var dll = directory.Combine("app", "skiff.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(dotnet)!);
        Directory.CreateDirectory(Path.GetDirectoryName(dll)!);
        File.WriteAllText(dotnet, "");
        File.WriteAllText(dll, "");

        var program = WorkloadProgram.InContainer([dotnet, dll]);

        Assert.Equal(["/.skiff/dotnet/dotnet", "/.skiff/app/skiff.dll", "workload", "timeout", "--seconds", "5"],
            program.CommandFor("timeout", new Dictionary<string, string> { ["seconds"] = "5" }));
        Assert.Equal("host", program.Image);
        Assert.Equal([new ReadOnlyBind(directory.Combine("dotnet"), "/.skiff/dotnet"), new ReadOnlyBind(directory.Combine("app"), "/.skiff/app")], program.Binds);
        Assert.Equal("/.skiff/dotnet", program.Environment["DOTNET_ROOT"]);
    }

    [Fact]
    public void InContainer_LinkedDotnetHost_BindsTheRealInstallation()
    {
        using var directory = new TempDirectory();
        var real = directory.Combine("share", "dotnet", "dotnet");
        Directory.CreateDirectory(Path.GetDirectoryName(real)!);
        File.WriteAllText(real, "");
        Directory.CreateDirectory(directory.Combine("bin"));
        File.CreateSymbolicLink(directory.Combine("bin", "dotnet"), real);

        File.WriteAllText(directory.Combine("skiff.dll"), "");

        var program = WorkloadProgram.InContainer([directory.Combine("bin", "dotnet"), directory.Combine("skiff.dll")]);

        // /usr/bin/dotnet is a link: the runtime (shared/) sits beside the real host, not beside the link.
        Assert.Equal(directory.Combine("share", "dotnet"), program.Binds[0].Source);
    }

    [Fact]
    public void InContainer_Apphost_BindsTheRunningRuntime()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.Combine("skiff"), "");

        var program = WorkloadProgram.InContainer([directory.Combine("skiff")], dotnetRoot: "/opt/dotnet");

        Assert.Equal(["/.skiff/app/skiff", "workload", "cpu-intensive"], program.CommandFor("cpu-intensive", new Dictionary<string, string>()));
        Assert.Equal([new ReadOnlyBind("/opt/dotnet", "/.skiff/dotnet"), new ReadOnlyBind(directory.Path, "/.skiff/app")], program.Binds);
    }

    [Fact]
    public void InContainer_CurrentRuntime_HasSharedFramework()
    {
        Assert.True(Directory.Exists(Path.Combine(WorkloadProgram.CurrentDotnetRoot(), "shared", "Microsoft.NETCore.App")), WorkloadProgram.CurrentDotnetRoot());
    }

    [Theory]
    [InlineData("relative/skiff")]
    [InlineData("skiff-no-such-program-on-path")]
    [InlineData("/nonexistent/skiff")]
    public void InContainer_NotAnAbsoluteProgram_Refused(string command)
    {
        var error = Assert.Throws<ArgumentException>(() => WorkloadProgram.InContainer([command]));

        Assert.Contains(command, error.Message, StringComparison.Ordinal);
    }
}
