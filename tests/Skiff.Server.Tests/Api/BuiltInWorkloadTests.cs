using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>Each built-in type runs as a plain process of the process executor.</summary>
[Collection(RunningServerCollection.Name)]
public sealed class ProcessBuiltInWorkloadTests(RunningServerFixture fixture) : BuiltInWorkloadTests
{
    protected override SkiffTestServer Server => fixture.Server;
}

/// <summary>Each built-in type runs inside its own runc container (host image, skiff bound read-only).</summary>
[Collection(RuncServerCollection.Name)]
public sealed class RuncBuiltInWorkloadTests(RuncServerFixture fixture) : BuiltInWorkloadTests
{
    protected override SkiffTestServer Server => fixture.Server;

    [Fact]
    public async Task NetworkTest_DefaultNetworkNone_CannotReachHostLoopback()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        // Reachable from the host (the test above connects with network "host"); not from the task's own namespace.
        var (task, log, _) = await RunAsync(TaskJson.Type("network-test", new JsonObject { ["host"] = "127.0.0.1", ["port"] = port }));

        Assert.Equal("failed", SkiffTestServer.Status(task));
        Assert.Contains($"network-test: cannot connect to 127.0.0.1:{port}", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workload_RunsTheBoundProgramInsideItsContainersCgroup()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Type("timeout", new JsonObject { ["seconds"] = 60 }).With("timeoutSeconds", 120));
        try
        {
            await Server.WaitForStatusAsync(taskId, "running");
            // The program is the one bound into the container, seen at its in-container path, in a cgroup under /skiff.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            string? found = null;
            while (found is null && DateTime.UtcNow < deadline)
            {
                // tini (pid 1 inside) has the same words after its "--"; the workload is its child.
                found = WorkloadProcesses(taskId).FirstOrDefault(c => !c.StartsWith("/.skiff/tini ", StringComparison.Ordinal));
                await Task.Delay(100);
            }
            Assert.NotNull(found);
            Assert.StartsWith("/.skiff/dotnet/dotnet /.skiff/app/skiff.dll workload timeout", found, StringComparison.Ordinal);
        }
        finally
        {
            using var cancel = await Server.PostAsync($"/tasks/{taskId}/cancel");
        }
        Assert.Equal("cancelled", SkiffTestServer.Status(await Server.WaitForEndAsync(taskId)));
    }

    /// <summary>Command lines of host processes whose cgroup belongs to a container of <paramref name="taskId"/>.</summary>
    private static IEnumerable<string> WorkloadProcesses(string taskId)
    {
        foreach (var process in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string cgroup;
            string commandLine;
            try
            {
                cgroup = File.ReadAllText(Path.Combine(process, "cgroup"));
                commandLine = File.ReadAllText(Path.Combine(process, "cmdline")).Replace('\0', ' ').Trim();
            }
            catch (IOException)
            {
                continue; // gone meanwhile
            }
            if (cgroup.Contains("/skiff/", StringComparison.Ordinal) && cgroup.Contains(taskId, StringComparison.Ordinal) && commandLine.Contains(" workload ", StringComparison.Ordinal))
            {
                yield return commandLine;
            }
        }
    }
}

/// <summary>Each built-in type runs as `dotnet skiff.dll workload TYPE ...` inside the task, never simulated in the server.</summary>
public abstract class BuiltInWorkloadTests
{
    protected abstract SkiffTestServer Server { get; }

    [Fact]
    public void SkiffCommand_TestOutput_HasSkiffDllAndRuntimeConfig()
    {
        Assert.True(File.Exists(SkiffTestServer.SkiffDll), SkiffTestServer.SkiffDll);
        Assert.True(File.Exists(Path.ChangeExtension(SkiffTestServer.SkiffDll, ".runtimeconfig.json")));
    }

    [Fact]
    public async Task CpuIntensive_OneSecond_SucceededWithCpuUsage()
    {
        var (task, log, result) = await RunAsync(TaskJson.Type("cpu-intensive", new JsonObject { ["seconds"] = 1 }));

        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        Assert.Contains("cpu-intensive: SHA-256 chain for 1 s", log, StringComparison.Ordinal);
        Assert.Matches(@"cpu-intensive: \d+ iterations in \d+ ms", log);
        Assert.True((long)result["usage"]!["wallMs"]! >= 1000, result.ToJsonString());
        Assert.True((long)result["usage"]!["cpuMs"]! > 0, result.ToJsonString());
    }

    [Fact]
    public async Task MemoryIntensive_16MB_SucceededWithMemoryUsage()
    {
        var (task, log, result) = await RunAsync(TaskJson.Type("memory-intensive", new JsonObject { ["mb"] = 16 }));

        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        Assert.Contains("memory-intensive: allocated 16 MiB", log, StringComparison.Ordinal);
        Assert.Contains("memory-intensive: released 16 MiB", log, StringComparison.Ordinal);
        Assert.True((long)result["usage"]!["peakMemoryBytes"]! > 0, result.ToJsonString());
    }

    [Fact]
    public async Task IoIntensive_2MB_SucceededChecksumMatches()
    {
        var (task, log, _) = await RunAsync(TaskJson.Type("io-intensive", new JsonObject { ["mb"] = 2 }));

        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        Assert.Contains("io-intensive: wrote 2 MiB", log, StringComparison.Ordinal);
        Assert.Matches("io-intensive: read 2 MiB in .*sha256 [0-9a-f]{64} matches", log);
    }

    [Fact]
    public async Task NetworkTest_ListeningPort_SucceededConnected()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        // "host": a container shares the host's network only when asked (a plain process always does).
        var (task, log, _) = await RunAsync(TaskJson.Type("network-test", new JsonObject { ["host"] = "127.0.0.1", ["port"] = port }).With("network", "host"));

        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        Assert.Contains($"connected to 127.0.0.1:{port}", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NetworkTest_ClosedPort_FailedCannotConnect()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var (task, log, result) = await RunAsync(TaskJson.Type("network-test", new JsonObject { ["host"] = "127.0.0.1", ["port"] = port }).With("network", "host"));

        Assert.Equal("failed", SkiffTestServer.Status(task));
        Assert.Equal(1, (int)task["exitCode"]!);
        Assert.Contains($"network-test: cannot connect to 127.0.0.1:{port}", log, StringComparison.Ordinal);
        Assert.Contains("ConnectionRefused", (string)result["stderrTail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_ExitCode7_FailedWithExitCode7AndMessage()
    {
        var (task, log, result) = await RunAsync(TaskJson.Type("error", new JsonObject { ["exitCode"] = 7, ["message"] = "boom on purpose" }));

        Assert.Equal("failed", SkiffTestServer.Status(task));
        Assert.Equal(7, (int)task["exitCode"]!);
        Assert.Equal(7, (int)result["exitCode"]!);
        Assert.Equal("exited with code 7", (string)task["error"]!);
        Assert.Contains("boom on purpose", log, StringComparison.Ordinal);
        Assert.Contains("boom on purpose", (string)result["stderrTail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timeout_TimeoutSecondsOne_TimedOut()
    {
        var (task, log, _) = await RunAsync(TaskJson.Type("timeout").With("timeoutSeconds", 1));

        Assert.Equal("timed_out", SkiffTestServer.Status(task));
        Assert.True((bool)task["deadLettered"]!);
        Assert.Contains("timeout: sleeping for 3600 s", log, StringComparison.Ordinal);
        Assert.Contains("timed out after 1s", (string)task["error"]!, StringComparison.Ordinal);
    }

    /// <summary>Runs a task with one attempt to its end; its document, log and result.</summary>
    protected async Task<(JsonObject Task, string Log, JsonObject Result)> RunAsync(JsonObject body)
    {
        var taskId = await Server.SubmitIdAsync(body.With("maxAttempts", 1));
        var task = await Server.WaitForEndAsync(taskId);
        var log = await Server.Client.GetStringAsync($"/tasks/{taskId}/logs");
        var result = await Server.GetJsonAsync($"/tasks/{taskId}/result");
        Assert.Equal(1, (int)task["attempts"]!);
        return (task, log, result);
    }
}
