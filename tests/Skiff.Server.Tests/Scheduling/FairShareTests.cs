using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Scheduling;

/// <summary>Users take turns within a priority, and a user at their running limit waits while others run; end to end.</summary>
public sealed class FairShareTests
{
    [Fact]
    public async Task Dispatch_OneUsersBacklogOfTwoThousand_AnotherUsersTaskStartsWithinOneSlotTurn()
    {
        const int slots = 2;
        const int backlog = 2000;
        using var temp = new TempDirectory();
        var release = temp.Combine("release");
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: slots);
        var (_, userB) = await server.CreateUserInStoreAsync("b");
        using var clientB = userB;

        // User A (the admin) holds both slots while its backlog is queued, so the backlog is surely there when
        // the slots start turning over.
        var blockers = new List<string>();
        for (var i = 0; i < slots; i++)
        {
            blockers.Add(await server.SubmitIdAsync(WaitFor(release)));
        }
        foreach (var blocker in blockers)
        {
            await server.WaitForStatusAsync(blocker, "running");
        }
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= backlog)
            {
                await server.SubmitIdAsync(TaskJson.Command("true"));
            }
        })));
        await File.WriteAllTextAsync(release, "");
        foreach (var blocker in blockers)
        {
            await server.WaitForStatusAsync(blocker, "succeeded");
        }

        var taskB = await SubmitAsync(server, clientB, TaskJson.Command("true"));
        // The server queues the task before it answers: from here on B's task is in the turn.
        var acknowledged = DateTimeOffset.UtcNow;
        var startedB = (DateTimeOffset)(await server.WaitForTaskAsync(taskB, t => t["startedAt"] is not null, "started"))["startedAt"]!;

        var startsOfA = (await ListAllAsync(server))
            .Where(t => (string)t["taskId"]! != taskB && !blockers.Contains((string)t["taskId"]!))
            .Select(t => (DateTimeOffset?)t["startedAt"])
            .ToList();
        Assert.Equal(backlog, startsOfA.Count);
        // Without turns B's task would have waited for what A had queued before it: make sure that was a lot.
        var notYetStarted = startsOfA.Count(s => s is null || s > startedB);
        Assert.True(notYetStarted >= backlog / 2, $"only {notYetStarted} of A's tasks were still waiting when B's started");
        // One slot turn: once B's task is queued, round-robin gives A at most one take before it, and startedAt
        // is stamped at the take. Start times are whole milliseconds, so an A task taken in the same millisecond
        // just after B's counts too: hence the bound is the slot count, not 1 (a FIFO queue gives ~2,000).
        var startedBetween = startsOfA.Count(s => s > acknowledged && s <= startedB);
        Assert.True(startedBetween <= slots, $"{startedBetween} of A's tasks started between B's submission and B's start");
    }

    [Fact]
    public async Task Dispatch_UserAtRunningLimit_TheirTasksWaitOthersRunNextStartsWhenOneEnds()
    {
        using var temp = new TempDirectory();
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 3, new Dictionary<string, string?> { ["Skiff:MaxRunningPerUser"] = "1" });
        // Two plain users (the server's default limit is the one under test; an admin may be exempt from it).
        var (_, userA) = await server.CreateUserInStoreAsync("a");
        using var clientA = userA;
        var (_, userB) = await server.CreateUserInStoreAsync("b");
        using var clientB = userB;

        // A submits three tasks before B submits one; each runs until its own file appears.
        var tasksOfA = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            tasksOfA.Add(await SubmitAsync(server, clientA, WaitFor(temp.Combine($"a{i}"))));
        }
        var taskB = await SubmitAsync(server, clientB, WaitFor(temp.Combine("b")));

        await server.WaitForStatusAsync(tasksOfA[0], "running");
        await server.WaitForStatusAsync(taskB, "running");
        // A third slot is free and A's other tasks came before B's: only A's limit keeps them queued.
        await AssertStatusesAsync(server, tasksOfA, "running", "queued", "queued");

        // A cancel ends A's running task: the next one becomes eligible.
        using (var cancel = await server.PostAsync($"/tasks/{tasksOfA[0]}/cancel", clientA))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }
        await server.WaitForStatusAsync(tasksOfA[1], "running");
        await AssertStatusesAsync(server, tasksOfA, "cancelled", "running", "queued");

        // So does a normal end.
        await File.WriteAllTextAsync(temp.Combine("a1"), "");
        await server.WaitForStatusAsync(tasksOfA[2], "running");
        await AssertStatusesAsync(server, tasksOfA, "cancelled", "succeeded", "running");
        Assert.Equal("running", SkiffTestServer.Status(await server.GetTaskAsync(taskB)));

        await File.WriteAllTextAsync(temp.Combine("a2"), "");
        await File.WriteAllTextAsync(temp.Combine("b"), "");
        await server.WaitForStatusAsync(taskB, "succeeded");
        var ended = new List<JsonObject>();
        foreach (var id in tasksOfA)
        {
            ended.Add(await server.WaitForEndAsync(id));
        }
        // Never two of A's at once: each started no earlier than the one before it ended.
        for (var i = 1; i < ended.Count; i++)
        {
            Assert.True((DateTimeOffset)ended[i]["startedAt"]! >= (DateTimeOffset)ended[i - 1]["completedAt"]!,
                $"{ended[i - 1].ToJsonString()} overlaps {ended[i].ToJsonString()}");
        }
    }

    [Fact]
    public async Task Start_NegativeMaxRunningPerUser_FailsNamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            SkiffTestServer.StartAsync(maxWorkers: 1, new Dictionary<string, string?> { ["Skiff:MaxRunningPerUser"] = "-1" }));

        Assert.Contains("MaxRunningPerUser", string.Join("; ", error.Failures), StringComparison.Ordinal);
    }

    private static async Task<string> SubmitAsync(SkiffTestServer server, HttpClient client, JsonObject body)
    {
        using var response = await server.PostJsonAsync("/tasks", body.ToJsonString(), client: client);
        return (string)(await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created))["taskId"]!;
    }

    private static JsonObject WaitFor(string file) =>
        TaskJson.Shell("while [ ! -e \"$RELEASE\" ]; do sleep 0.02; done").With("env", new JsonObject { ["RELEASE"] = file });

    private static async Task AssertStatusesAsync(SkiffTestServer server, IReadOnlyList<string> ids, params string[] expected)
    {
        var actual = new List<string>();
        foreach (var id in ids)
        {
            actual.Add(SkiffTestServer.Status(await server.GetTaskAsync(id)));
        }
        Assert.Equal(expected, actual);
    }

    private static async Task<List<JsonObject>> ListAllAsync(SkiffTestServer server)
    {
        var tasks = new List<JsonObject>();
        string? cursor = null;
        do
        {
            var page = await server.GetJsonAsync($"/tasks?limit=500{(cursor is null ? "" : "&cursor=" + cursor)}");
            tasks.AddRange(page["items"]!.AsArray().Select(t => t!.AsObject()));
            cursor = (string?)page["nextCursor"];
        }
        while (cursor is not null);
        return tasks;
    }
}
