using System.Diagnostics;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Durability;

/// <summary>
/// kill -9 of a real server whose tasks run in runc containers (the default executor): the containers outlive
/// the server; the restarted server removes them (container, cgroups, bundle) before running anything, and the
/// tasks run again.
/// </summary>
public sealed class RuncCrashRecoveryTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "sk_e2e_runc_crash_recovery";

    private readonly TempDirectory _directory = new();
    private readonly List<ServerProcess> _servers = [];

    private string DataDirectory => _directory.Combine("data");

    private string StateDirectory => Path.Combine(DataDirectory, "runc", "state");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        // Whatever a failed assertion left running of this test's containers ends with the test.
        foreach (var container in await ContainersAsync())
        {
            await RuncAsync("delete", "--force", container);
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task KillMinus9_WithContainersRunning_RestartRemovesThemAndRunsTheTasksAgain()
    {
        var launch = new ServerLaunch(DataDirectory, _directory.Path, AdminKey) { MaxWorkers = 2, Executor = "auto" };
        var first = await StartAsync(launch);
        using var api = first.CreateApi();
        string[] ids =
        [
            await api.SubmitAsync(SkiffApi.CommandTask(["sh", "-c", "echo begin; sleep 60"], maxAttempts: 2)),
            await api.SubmitAsync(SkiffApi.CommandTask(["sh", "-c", "echo begin; sleep 60"], maxAttempts: 2)),
        ];
        foreach (var id in ids)
        {
            await Eventually.UntilAsync(() => api.LogsAsync(id), log => log.Contains("begin", StringComparison.Ordinal), TimeSpan.FromSeconds(30), $"{id} to run");
        }
        string[] firstAttempts = [.. ids.Select(id => id + "-1")];
        Assert.Equal(firstAttempts.Order(), (await ContainersAsync()).Order());

        await first.KillAsync();

        // The containers do not die with the server: they are runc's, not its children's children.
        Assert.Equal(firstAttempts.Order(), (await ContainersAsync()).Order());

        var second = await StartAsync(launch with { PreferredPort = first.Port });
        using var recovered = second.CreateApi();
        foreach (var id in ids)
        {
            await Eventually.UntilAsync(() => recovered.GetAsync(id), t => t.Status == "running" && t.Attempts == 2, TimeSpan.FromSeconds(60), $"{id} to run again");
        }

        // The first attempts' containers, cgroups and bundles are gone; the second attempts run in their own.
        var containers = await ContainersAsync();
        Assert.Empty(containers.Intersect(firstAttempts));
        Assert.Equal(ids.Select(id => id + "-2").Order(), containers.Order());
        foreach (var attempt in firstAttempts)
        {
            Assert.False(Directory.Exists($"/sys/fs/cgroup/memory/skiff/{attempt}"), $"cgroup of {attempt} left behind");
            Assert.False(Directory.Exists(Path.Combine(DataDirectory, "runc", "bundles", attempt)), $"bundle of {attempt} left behind");
        }

        foreach (var id in ids)
        {
            await recovered.CancelAsync(id);
        }
        foreach (var id in ids)
        {
            await Eventually.UntilAsync(() => recovered.GetAsync(id), t => t.Status == "cancelled", TimeSpan.FromSeconds(30), $"{id} to be cancelled");
        }
        await Eventually.UntilAsync(ContainersAsync, c => c.Count == 0, TimeSpan.FromSeconds(10), "the cancelled containers to be removed", c => string.Join(",", c));
    }

    private async Task<ServerProcess> StartAsync(ServerLaunch launch)
    {
        var server = await ServerProcess.StartAsync(launch);
        _servers.Add(server);
        return server;
    }

    /// <summary>The containers runc keeps for this server's data directory.</summary>
    private async Task<IReadOnlyList<string>> ContainersAsync()
    {
        if (!Directory.Exists(StateDirectory))
        {
            return [];
        }
        var (exitCode, stdout) = await RuncAsync("list", "-q");
        Assert.True(exitCode == 0, $"runc list failed ({exitCode})");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private async Task<(int ExitCode, string Stdout)> RuncAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("runc") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["--root", StateDirectory, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout);
    }
}
