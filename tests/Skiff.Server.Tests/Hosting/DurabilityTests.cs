using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Hosting;

/// <summary>Stopping and restarting servers in-process on one data directory (the kill -9 crash test lives in the end-to-end tests).</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task Restart_TasksQueuedAtStop_RunToCompletionOnTheNextServer()
    {
        using var temp = new TempDirectory();
        var data = temp.Combine("data");
        var ids = new List<string>();
        await using (var first = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: data))
        {
            ids.Add(await first.SubmitIdAsync(TaskJson.Shell("echo one")));
            ids.Add(await first.SubmitIdAsync(TaskJson.Shell("echo two").With("priority", 8)));
            ids.Add(await first.SubmitIdAsync(TaskJson.Type("error", new JsonObject { ["exitCode"] = 0 })));
        }

        await using var second = await SkiffTestServer.StartAsync(maxWorkers: 2, dataDirectory: data);

        foreach (var id in ids)
        {
            var task = await second.WaitForEndAsync(id);
            Assert.Equal("succeeded", SkiffTestServer.Status(task));
            Assert.Equal(1, (int)task["attempts"]!);
        }
        Assert.Equal("one\n", await second.Client.GetStringAsync($"/tasks/{ids[0]}/logs"));
        Assert.Equal(ids.AsEnumerable().Reverse(), await second.ListAllTaskIdsAsync());
    }

    [Fact]
    public async Task Shutdown_TaskStillRunningAfterGrace_RequeuedWithAttemptRefundedAndRunsAfterRestart()
    {
        using var temp = new TempDirectory();
        var data = temp.Combine("data");
        var marker = temp.Combine("first-run");
        // The first run marks itself and sleeps past the grace; the run after the restart finds the mark and ends.
        var script = "if [ -e \"$MARKER\" ]; then echo second run; exit 0; fi; touch \"$MARKER\"; echo pid=$$; exec sleep 30";
        var settings = new Dictionary<string, string?> { ["Skiff:ShutdownGrace"] = "00:00:00.200" };
        string taskId;
        int pid;
        await using (var first = await SkiffTestServer.StartAsync(maxWorkers: 1, settings, data))
        {
            taskId = await first.SubmitIdAsync(TaskJson.Shell(script).With("env", new JsonObject { ["MARKER"] = marker }).With("maxAttempts", 1));
            var log = await first.WaitForLogAsync(taskId, "pid=");
            pid = Processes.PidIn(log);
            var clock = System.Diagnostics.Stopwatch.StartNew();

            await first.StopAsync();

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"stop took {clock.Elapsed}");
            Assert.False(Processes.IsSleeping(pid), $"process {pid} outlived the shutdown");
        }

        await using var second = await SkiffTestServer.StartAsync(maxWorkers: 1, settings, data);

        var task = await second.WaitForEndAsync(taskId);
        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        // maxAttempts 1: had the interrupted attempt counted, the task would have been dead-lettered instead.
        Assert.Equal(1, (int)task["attempts"]!);
        var events = task["events"]!.AsArray().Select(e => ((string)e!["status"]!, (int)e["attempt"]!, (string?)e["reason"])).ToList();
        Assert.Equal(["queued", "running", "queued", "running", "succeeded"], events.Select(e => e.Item1));
        Assert.Equal("requeued: server shutting down", events[2].Item3);
        Assert.Equal([0, 1, 1, 1, 1], events.Select(e => e.Item2));
        Assert.Equal($"pid={pid}\nsecond run\n", await second.Client.GetStringAsync($"/tasks/{taskId}/logs"));
    }

    [Fact]
    public async Task Shutdown_WhileFollowingLogsOfARunningTask_StopsWithinGraceAndDropsTheFollower()
    {
        // Regression: Kestrel waited for the open follow request before the worker drained, so shutdown took as
        // long as the task ran and the grace period never applied.
        using var temp = new TempDirectory();
        var data = temp.Combine("data");
        var settings = new Dictionary<string, string?> { ["Skiff:ShutdownGrace"] = "00:00:00.200" };
        string taskId;
        await using (var first = await SkiffTestServer.StartAsync(maxWorkers: 1, settings, data))
        {
            taskId = await first.SubmitIdAsync(TaskJson.Shell("echo started; exec sleep 30"));
            using var follower = new HttpClient { BaseAddress = first.BaseAddress };
            follower.DefaultRequestHeaders.Authorization = new("Bearer", first.AdminKey);
            using var response = await follower.GetAsync($"/tasks/{taskId}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("started", await reader.ReadLineAsync());
            var clock = System.Diagnostics.Stopwatch.StartNew();

            await first.StopAsync();

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"stop took {clock.Elapsed}");
            await Assert.ThrowsAnyAsync<IOException>(() => reader.ReadToEndAsync());
        }

        await using var second = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: data);
        var task = await second.GetTaskAsync(taskId);
        Assert.Equal("queued", SkiffTestServer.Status(task));
        Assert.Equal(0, (int)task["attempts"]!);
        Assert.Equal("requeued: server shutting down", (string)task["events"]!.AsArray()[^1]!["reason"]!);
    }

    [Fact]
    public async Task Restart_AfterDataDirectoryReleased_SecondServerStartsWithTheSameAdminKey()
    {
        using var temp = new TempDirectory();
        var data = temp.Combine("data");
        string key;
        await using (var first = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: data))
        {
            key = first.AdminKey;
        }

        await using var second = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: data);

        Assert.Equal(key, second.AdminKey);
        await second.SubmitIdAsync(TaskJson.Command("true"));
    }
}
