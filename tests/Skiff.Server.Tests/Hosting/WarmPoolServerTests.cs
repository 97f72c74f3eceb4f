using System.Diagnostics;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Hosting;

/// <summary>Skiff:WarmPool through the whole server: later tasks of a shape start in a pooled container; nothing is left at stop.</summary>
public sealed class WarmPoolServerTests
{
    [Fact]
    public async Task WarmPool_SecondTaskRunsPooled_AndStopLeavesNoContainer()
    {
        var server = await SkiffTestServer.StartAsync(maxWorkers: 1, new Dictionary<string, string?> { ["Skiff:Executor"] = "runc", ["Skiff:WarmPool"] = "1" });
        var state = Path.Combine(server.DataDirectory, "runc", "state");
        var bundles = Path.Combine(server.DataDirectory, "runc", "bundles");
        try
        {
            var first = await RunAsync(server, "first");
            Assert.StartsWith("first t_", first, StringComparison.Ordinal);
            // The first task of the shape ran cold and left a container of its shape being prepared.
            var deadline = Stopwatch.StartNew();
            while (!Directory.EnumerateDirectories(state, "warm-*").Any() && deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }
            await Task.Delay(500); // created, then started: let it reach its fifo

            var second = await RunAsync(server, "second");

            Assert.StartsWith("second warm-", second, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
        }
        Assert.Empty(Directory.Exists(state) ? Directory.GetDirectories(state) : []);
        Assert.Empty(Directory.Exists(bundles) ? Directory.GetDirectories(bundles) : []);
    }

    /// <summary>Runs `echo WORD $(hostname)` to its end and returns its output line.</summary>
    private static async Task<string> RunAsync(SkiffTestServer server, string word)
    {
        var taskId = await server.SubmitIdAsync(TaskJson.Command("sh", "-c", $"echo {word} $(hostname)"));
        var task = await server.WaitForEndAsync(taskId);
        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        return (await server.Client.GetStringAsync($"/tasks/{taskId}/logs")).Trim();
    }
}
