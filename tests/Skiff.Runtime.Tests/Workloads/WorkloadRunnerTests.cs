using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Skiff.Core.Tasks;
using Skiff.Runtime.Workloads;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Workloads;

public sealed class WorkloadRunnerTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly string _work;
    private readonly string _output;
    private readonly StringWriter _stdout = new();
    private readonly StringWriter _stderr = new();

    public WorkloadRunnerTests()
    {
        _work = Directory.CreateDirectory(_root.Combine("work")).FullName;
        _output = _root.Combine("out");
    }

    public void Dispose()
    {
        _stdout.Dispose();
        _stderr.Dispose();
        _root.Dispose();
    }

    private Task<int> RunAsync(string type, Dictionary<string, string>? parameters = null,
        TimeProvider? timeProvider = null, CancellationToken cancellationToken = default) =>
        WorkloadRunner.RunAsync(type, parameters ?? [], _stdout, _stderr, _output, _work,
            timeProvider ?? TimeProvider.System, cancellationToken);

    private JsonElement ReadResult()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_output, "result.json")));
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task RunAsync_CpuOneSecond_BusyForAtLeastASecond()
    {
        var stopwatch = Stopwatch.StartNew();

        var exitCode = await RunAsync(WorkloadTypes.CpuIntensive, new() { ["seconds"] = "1" });

        Assert.Equal(0, exitCode);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(1), $"took {stopwatch.Elapsed}");
        Assert.Contains("iterations in", _stdout.ToString(), StringComparison.Ordinal);
        var result = ReadResult();
        Assert.Equal("cpu-intensive", result.GetProperty("type").GetString());
        Assert.True(result.GetProperty("iterations").GetInt64() > 0);
        Assert.True(result.GetProperty("elapsedMs").GetInt64() >= 1000);
        Assert.Equal(0, result.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task RunAsync_CpuFixedIterations_DoesExactlyThatMany()
    {
        var exitCode = await RunAsync(WorkloadTypes.CpuIntensive, new() { ["iterations"] = "10000" });

        Assert.Equal(0, exitCode);
        Assert.Equal(10000, ReadResult().GetProperty("iterations").GetInt64());
    }

    [Fact]
    public async Task RunAsync_CpuSameIterations_SameDigest()
    {
        // The work is a deterministic hash chain, so equal work gives an equal digest.
        await RunAsync(WorkloadTypes.CpuIntensive, new() { ["iterations"] = "5000" });
        var first = ReadResult().GetProperty("digest").GetString();
        await RunAsync(WorkloadTypes.CpuIntensive, new() { ["iterations"] = "5000" });

        Assert.Equal(first, ReadResult().GetProperty("digest").GetString());
        Assert.Equal(64, first!.Length);
    }

    [Fact]
    public async Task RunAsync_Memory32Mb_AllocatesAndExitsZero()
    {
        var exitCode = await RunAsync(WorkloadTypes.MemoryIntensive, new() { ["mb"] = "32" });

        Assert.Equal(0, exitCode);
        Assert.Contains("allocated 32 MiB", _stdout.ToString(), StringComparison.Ordinal);
        var result = ReadResult();
        Assert.Equal(32, result.GetProperty("mb").GetInt64());
        Assert.True(result.GetProperty("pages").GetInt64() >= 32L * 1024 * 1024 / Environment.SystemPageSize);
    }

    [Fact]
    public async Task RunAsync_MemoryHoldWithFakeClock_WaitsForTheClock()
    {
        var time = new FakeTimeProvider();
        // StringWriter completes synchronously, so the hold's timer is armed by the time RunAsync returns.
        var running = RunAsync(WorkloadTypes.MemoryIntensive, new() { ["mb"] = "1", ["seconds"] = "30" }, time);

        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(running.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, await running.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(30, ReadResult().GetProperty("heldSeconds").GetInt64());
    }

    [Fact]
    public async Task RunAsync_Io4Mb_VerifiesAndRemovesItsFile()
    {
        var exitCode = await RunAsync(WorkloadTypes.IoIntensive, new() { ["mb"] = "4" });

        Assert.Equal(0, exitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_work));
        Assert.Contains("wrote 4 MiB", _stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("matches", _stdout.ToString(), StringComparison.Ordinal);
        var result = ReadResult();
        Assert.True(result.GetProperty("checksumOk").GetBoolean());
        Assert.Equal(64, result.GetProperty("sha256").GetString()!.Length);
    }

    [Fact]
    public async Task RunAsync_NetworkToListeningPort_ConnectsAndExitsZero()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var exitCode = await RunAsync(WorkloadTypes.NetworkTest, new() { ["host"] = "127.0.0.1", ["port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(0, exitCode);
        Assert.StartsWith($"connected to 127.0.0.1:{port} in ", _stdout.ToString(), StringComparison.Ordinal);
        Assert.True(ReadResult().GetProperty("connected").GetBoolean());
    }

    [Fact]
    public async Task RunAsync_NetworkToClosedPort_FailsWithExitOne()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var exitCode = await RunAsync(WorkloadTypes.NetworkTest, new() { ["host"] = "127.0.0.1", ["port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(1, exitCode);
        Assert.Contains($"cannot connect to 127.0.0.1:{port}", _stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal("", _stdout.ToString());
        Assert.False(ReadResult().GetProperty("connected").GetBoolean());
    }

    [Fact]
    public async Task RunAsync_NetworkWithoutHostAndPort_ReportsBothAndExitsTwo()
    {
        var exitCode = await RunAsync(WorkloadTypes.NetworkTest);

        Assert.Equal(WorkloadRunner.InvalidParametersExitCode, exitCode);
        Assert.Contains("--host is required", _stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("--port is required", _stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_output, "result.json")));
    }

    [Fact]
    public async Task RunAsync_ErrorWithExitCode7_PrintsMessageAndExits7()
    {
        var exitCode = await RunAsync(WorkloadTypes.Error, new() { ["exitCode"] = "7", ["message"] = "disk on fire" });

        Assert.Equal(7, exitCode);
        Assert.Equal("disk on fire", _stderr.ToString().TrimEnd());
        Assert.Equal(7, ReadResult().GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task RunAsync_ErrorDefaults_SimulatedFailureExitOne()
    {
        var exitCode = await RunAsync(WorkloadTypes.Error);

        Assert.Equal(1, exitCode);
        Assert.Equal("simulated failure", _stderr.ToString().TrimEnd());
    }

    [Fact]
    public async Task RunAsync_TimeoutCancelled_ReturnsPromptly()
    {
        using var cancellation = new CancellationTokenSource();
        var stopwatch = Stopwatch.StartNew();
        var running = RunAsync(WorkloadTypes.Timeout, cancellationToken: cancellation.Token);
        Assert.False(running.IsCompleted);

        await cancellation.CancelAsync();
        var exitCode = await running.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(WorkloadRunner.CancelledExitCode, exitCode);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.StartsWith("timeout: sleeping for 3600 s", _stdout.ToString(), StringComparison.Ordinal);
        Assert.True(ReadResult().GetProperty("cancelled").GetBoolean());
    }

    [Fact]
    public async Task RunAsync_TimeoutWithFakeClock_EndsWhenTheSecondsPass()
    {
        var time = new FakeTimeProvider();
        var running = RunAsync(WorkloadTypes.Timeout, new() { ["seconds"] = "10" }, time);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(running.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, await running.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("slept 10 s", _stdout.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(WorkloadTypes.CpuIntensive, "seconds", "abc", "--seconds must be an integer")]
    [InlineData(WorkloadTypes.CpuIntensive, "seconds", "-1", "--seconds must be between")]
    [InlineData(WorkloadTypes.MemoryIntensive, "mb", "0", "--mb must be between")]
    [InlineData(WorkloadTypes.IoIntensive, "mb", "99999999999", "--mb must be between")]
    [InlineData(WorkloadTypes.NetworkTest, "port", "70000", "--port must be between")]
    [InlineData(WorkloadTypes.Error, "exitCode", "256", "--exitCode must be between")]
    [InlineData(WorkloadTypes.Timeout, "minutes", "5", "unknown parameter --minutes")]
    public async Task RunAsync_BadParameter_MessageOnStderrAndExitTwo(string type, string name, string value, string expected)
    {
        var exitCode = await RunAsync(type, new() { [name] = value });

        Assert.Equal(WorkloadRunner.InvalidParametersExitCode, exitCode);
        Assert.Contains(expected, _stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_output, "result.json")));
    }

    [Fact]
    public async Task RunAsync_UnknownType_ExitTwo()
    {
        var exitCode = await RunAsync("gpu-intensive");

        Assert.Equal(WorkloadRunner.InvalidParametersExitCode, exitCode);
        Assert.Contains("unknown workload type 'gpu-intensive'", _stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NoOutputDirectory_WritesNoResultFile()
    {
        var exitCode = await WorkloadRunner.RunAsync(WorkloadTypes.Error, new Dictionary<string, string> { ["exitCode"] = "0" },
            _stdout, _stderr, outputDirectory: null, _work, TimeProvider.System, CancellationToken.None);

        Assert.Equal(0, exitCode);
        Assert.False(Directory.Exists(_output));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_work));
    }

    [Fact]
    public async Task RunAsync_PublicOverload_RunsTheWorkload()
    {
        var exitCode = await WorkloadRunner.RunAsync(WorkloadTypes.Error, new Dictionary<string, string> { ["exitCode"] = "5", ["message"] = "five" },
            _stdout, _stderr, CancellationToken.None);

        Assert.Equal(5, exitCode);
        Assert.Equal("five", _stderr.ToString().TrimEnd());
    }
}
