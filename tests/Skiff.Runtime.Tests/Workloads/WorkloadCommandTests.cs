using Skiff.Core.Tasks;
using Skiff.Runtime.Workloads;

namespace Skiff.Runtime.Tests.Workloads;

public sealed class WorkloadCommandTests
{
    [Fact]
    public void For_SkiffPrefix_AppendsVerbTypeAndSortedParameters()
    {
        var command = WorkloadCommand.For(["/usr/bin/dotnet", "/opt/skiff/skiff.dll"], WorkloadTypes.CpuIntensive,
            new Dictionary<string, string> { ["seconds"] = "2", ["iterations"] = "100" });

        Assert.Equal(["/usr/bin/dotnet", "/opt/skiff/skiff.dll", "workload", "cpu-intensive", "--iterations", "100", "--seconds", "2"], command);
    }

    [Fact]
    public void CurrentProcess_UnderTestHost_StartsWithThisProcessExecutable()
    {
        var prefix = WorkloadCommand.CurrentProcess();

        Assert.Equal(Environment.ProcessPath, prefix[0]);
        Assert.True(File.Exists(prefix[0]));
        if (Path.GetFileNameWithoutExtension(prefix[0]) == "dotnet")
        {
            Assert.Equal(2, prefix.Count);
            Assert.EndsWith(".dll", prefix[1], StringComparison.Ordinal);
            Assert.True(File.Exists(prefix[1]));
        }
        else
        {
            Assert.Single(prefix);
        }
    }

    [Fact]
    public void TryParseArguments_WhatToArgumentsWrites_RoundTrips()
    {
        var parameters = new Dictionary<string, string> { ["exitCode"] = "7", ["message"] = "--looks like a flag" };

        var ok = WorkloadCommand.TryParseArguments(WorkloadTypes.ToArguments(WorkloadTypes.Error, parameters),
            out var type, out var parsed, out var error);

        Assert.True(ok, error);
        Assert.Null(error);
        Assert.Equal(WorkloadTypes.Error, type);
        Assert.Equal(parameters, parsed);
    }

    [Fact]
    public void TryParseArguments_NameEqualsValue_Accepted()
    {
        var ok = WorkloadCommand.TryParseArguments(["network-test", "--host=example.org", "--port", "443"], out _, out var parsed, out var error);

        Assert.True(ok, error);
        Assert.Equal("example.org", parsed["host"]);
        Assert.Equal("443", parsed["port"]);
    }

    [Fact]
    public void TryParseArguments_TypeOnly_NoParameters()
    {
        var ok = WorkloadCommand.TryParseArguments(["timeout"], out var type, out var parsed, out _);

        Assert.True(ok);
        Assert.Equal("timeout", type);
        Assert.Empty(parsed);
    }

    [Theory]
    [InlineData(new string[] { }, "missing workload type")]
    [InlineData(new[] { "gpu-intensive" }, "unknown workload type 'gpu-intensive'")]
    [InlineData(new[] { "cpu-intensive", "--seconds" }, "missing value for --seconds")]
    [InlineData(new[] { "cpu-intensive", "--seconds", "soon" }, "--seconds must be an integer, got 'soon'")]
    [InlineData(new[] { "cpu-intensive", "--minutes", "1" }, "unknown parameter --minutes for cpu-intensive")]
    [InlineData(new[] { "cpu-intensive", "--seconds", "1", "--seconds", "2" }, "--seconds is given more than once")]
    [InlineData(new[] { "cpu-intensive", "seconds", "1" }, "unexpected argument 'seconds'")]
    [InlineData(new[] { "cpu-intensive", "--", "1" }, "unexpected argument '--'")]
    public void TryParseArguments_Invalid_FalseWithReason(string[] args, string expected)
    {
        var ok = WorkloadCommand.TryParseArguments(args, out _, out _, out var error);

        Assert.False(ok);
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParseArguments_SeveralProblems_ReportsEveryOne()
    {
        var ok = WorkloadCommand.TryParseArguments(["memory-intensive", "--mb", "lots", "--colour", "red", "stray"], out _, out _, out var error);

        Assert.False(ok);
        Assert.Contains("--mb must be an integer", error, StringComparison.Ordinal);
        Assert.Contains("unknown parameter --colour", error, StringComparison.Ordinal);
        Assert.Contains("unexpected argument 'stray'", error, StringComparison.Ordinal);
    }
}
