using System.Diagnostics;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Durability;

/// <summary>SIGTERM: the server stops taking work, lets running tasks finish within the grace period, requeues the rest, exits 0.</summary>
public sealed class GracefulShutdownTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "sk_e2e_graceful";

    private readonly TempDirectory _directory = new();
    private readonly List<ServerProcess> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Sigterm_ShortTaskRunning_TaskFinishesAndServerExitsZero()
    {
        var launch = new ServerLaunch(_directory.Combine("data"), _directory.Path, AdminKey);
        var server = await StartAsync(launch);
        string id;
        using (var api = server.CreateApi())
        {
            id = await api.SubmitAsync(SkiffApi.CommandTask(["sh", "-c", "sleep 1; echo finished"]));
            await Eventually.UntilAsync(() => api.GetAsync(id), t => t.Status == "running", TimeSpan.FromSeconds(20), $"{id} to run");
        }

        await server.TerminateAsync();

        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        var restarted = await StartAsync(launch with { PreferredPort = server.Port });
        using var after = restarted.CreateApi();
        var task = await after.GetAsync(id);
        Assert.True(task is { Status: "succeeded", Attempts: 1 }, $"expected to finish during the grace period: {task}");
        Assert.DoesNotContain(task.History, e => e.Reason?.Contains("requeued", StringComparison.Ordinal) == true);
        TaskHistoryAssert.EndedExactlyOnce(task);
        Assert.Equal("finished\n", await after.LogsAsync(id));
    }

    [Fact]
    public async Task Sigterm_TaskOutlastsTheGrace_IsRequeuedWithItsAttemptRefundedAndRunsAgainAfterRestart()
    {
        // The grace comes from the environment (Skiff__ShutdownGrace), as a service manager would set it.
        var launch = new ServerLaunch(_directory.Combine("data"), _directory.Path, AdminKey)
        {
            Environment = new Dictionary<string, string?> { ["Skiff__ShutdownGrace"] = "00:00:01" },
        };
        var server = await StartAsync(launch);
        string id;
        using (var api = server.CreateApi())
        {
            id = await api.SubmitAsync(SkiffApi.CommandTask(["sleep", "60"]));
            await Eventually.UntilAsync(() => api.GetAsync(id), t => t.Status == "running", TimeSpan.FromSeconds(20), $"{id} to run");
        }

        var stopping = Stopwatch.StartNew();
        await server.TerminateAsync();

        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        // Well under the default 20 s grace: the environment setting reached the server.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(12), $"shutdown took {stopping.Elapsed}; output:\n{server.Output}");
        Assert.Empty(TaskProcesses.Under(launch.DataDirectory));

        var restarted = await StartAsync(launch with { PreferredPort = server.Port });
        using var after = restarted.CreateApi();
        var task = await Eventually.UntilAsync(
            () => after.GetAsync(id),
            t => t.Status == "running" && t.History.Count(e => e.Status == "running") == 2,
            TimeSpan.FromSeconds(20),
            $"{id} to run again after the restart");
        Assert.Contains(task.History, e => e is { Status: "queued", Attempt: 1, Reason: "requeued: server shutting down" });
        // The interrupted attempt was given back: the run after the restart is attempt 1 again.
        Assert.Equal(1, task.Attempts);
        Assert.Equal([1, 1], task.History.Where(e => e.Status == "running").Select(e => e.Attempt));
        Assert.False(TaskHistoryAssert.HasLeaseExpired(task), $"a graceful stop must not look like a crash: {task}");

        var cancelled = await after.CancelAsync(id);
        Assert.Equal("cancelled", cancelled.Status);
    }

    private async Task<ServerProcess> StartAsync(ServerLaunch launch)
    {
        var server = await ServerProcess.StartAsync(launch);
        _servers.Add(server);
        return server;
    }
}
