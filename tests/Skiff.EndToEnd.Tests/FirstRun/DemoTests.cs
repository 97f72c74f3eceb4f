using System.Globalization;
using System.Net;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.FirstRun;

/// <summary><c>skiff demo</c> on a fresh machine: starts a server in the background, runs a task, leaves the server up.</summary>
public sealed class DemoTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _directory = new();

    private string DataDirectory => _directory.Combine("data");

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Stops the server the demo left running: the pid from its pid file, checked to be this test's server.</summary>
    public async Task DisposeAsync()
    {
        if (ReadServerPid() is { } pid && TaskProcesses.CommandLine(pid).Contains(DataDirectory, StringComparison.Ordinal))
        {
            TaskProcesses.Kill(pid);
            await Eventually.UntilAsync(() => !TaskProcesses.IsAlive(pid), TimeSpan.FromSeconds(30), $"the demo server (pid {pid}) to exit");
        }
        TaskProcesses.KillUnder(DataDirectory);
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Demo_FreshDataDirectory_RunsTheDemoTaskAndLeavesTheServerRunning()
    {
        var url = $"http://127.0.0.1:{FreeTcpPort.Next().ToString(CultureInfo.InvariantCulture)}";

        var run = await ProcessRun.RunAsync(
            SkiffProgram.SkiffStartInfo(["demo", "--data", DataDirectory, "--urls", url], _directory.Path),
            TimeSpan.FromMinutes(2));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^task t_[0-9a-z]+ succeeded$", run.Stdout);
        Assert.Contains("  what:      cpu-intensive seconds=1", run.StdoutLines);
        Assert.Contains("  exit code: 0", run.StdoutLines);
        // The default isolates: the demo task ran in a runc container (as root with runc installed, as CI runs).
        Assert.Contains("executor runc", run.Stderr, StringComparison.Ordinal);
        var pid = ReadServerPid();
        Assert.True(pid is not null, $"no pid in {DataDirectory}/server.pid; {run}");
        Assert.Contains($"Skiff is running at {url} (pid {pid}", run.Stdout, StringComparison.Ordinal);
        Assert.True(TaskProcesses.IsAlive(pid.Value), $"the server (pid {pid}) is not running after the demo");
        Assert.Contains("server", TaskProcesses.CommandLine(pid.Value), StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var health = await http.GetAsync(new Uri(url + "/health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private int? ReadServerPid()
    {
        var path = Path.Combine(DataDirectory, "server.pid");
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }
}
