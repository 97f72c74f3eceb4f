using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Tenancy;

/// <summary>
/// Per-user quotas over HTTP: queued tasks (server default 3 here, per-user overrides), the submission rate, and
/// running tasks through a per-user override. Over a quota: 429, Retry-After, a problem naming it, nothing stored.
/// </summary>
public sealed class QuotaTests : IAsyncLifetime
{
    private SkiffTestServer _idle = null!;

    public async Task InitializeAsync() => _idle = await SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?>
    {
        ["Skiff:MaxQueuedPerUser"] = "3",
    });

    public async Task DisposeAsync() => await _idle.DisposeAsync();

    [Fact]
    public async Task Submit_OverQueuedQuota_429NamingItAndNothingStored_ThenRoomAfterACancel()
    {
        using var user = await _idle.CreateUserAsync("queued");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await SubmitAsync(user.Client, HttpStatusCode.Created));
        }
        var before = await _idle.CountTasksAsync();

        using var over = await PostTaskAsync(user.Client);

        var problem = await ProblemAssert.IsProblemAsync(over, HttpStatusCode.TooManyRequests, "maxQueued");
        Assert.Equal("maxQueued", (string)problem["quota"]!);
        Assert.True(over.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {over.Headers.RetryAfter}");
        Assert.Equal(before, await _idle.CountTasksAsync());

        using (var cancel = await user.Client.PostAsync($"/tasks/{ids[0]}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }
        await SubmitAsync(user.Client, HttpStatusCode.Created);
    }

    [Fact]
    public async Task Submit_PerUserOverride_ReplacesTheDefault_AdminNotBoundByDefault()
    {
        using var user = await _idle.CreateUserAsync("override", extra: new JsonObject { ["maxQueued"] = 1 });
        await SubmitAsync(user.Client, HttpStatusCode.Created);
        using (var over = await PostTaskAsync(user.Client))
        {
            await ProblemAssert.IsProblemAsync(over, HttpStatusCode.TooManyRequests, "maxQueued");
        }

        using (var raise = await _idle.Client.PutAsync($"/users/{user.Id}/quotas", Json("""{"maxQueued":4}""")))
        {
            Assert.Equal(HttpStatusCode.OK, raise.StatusCode);
        }
        for (var i = 0; i < 3; i++)
        {
            await SubmitAsync(user.Client, HttpStatusCode.Created);
        }
        using (var over = await PostTaskAsync(user.Client))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
        }
        for (var i = 0; i < 5; i++)
        {
            await SubmitAsync(_idle.Client, HttpStatusCode.Created);
        }
    }

    [Fact]
    public async Task Submit_OverTheRate_429WithRetryAfter_AdminNotLimited()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?>
        {
            ["Skiff:SubmitRatePerSecond"] = "1",
            ["Skiff:SubmitBurst"] = "2",
        });
        using var user = await server.CreateUserAsync("rate");
        await SubmitAsync(user.Client, HttpStatusCode.Created);
        await SubmitAsync(user.Client, HttpStatusCode.Created);
        var before = await server.CountTasksAsync();

        using var over = await PostTaskAsync(user.Client);

        var problem = await ProblemAssert.IsProblemAsync(over, HttpStatusCode.TooManyRequests, "submitRate");
        Assert.Equal("submitRate", (string)problem["quota"]!);
        Assert.True(over.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {over.Headers.RetryAfter}");
        Assert.Equal(before, await server.CountTasksAsync());
        for (var i = 0; i < 5; i++)
        {
            await SubmitAsync(server.Client, HttpStatusCode.Created);
        }
        // The bucket refills: one more submission is allowed about a second later.
        await Eventually.UntilAsync(async () =>
        {
            using var r = await PostTaskAsync(user.Client);
            return r.StatusCode;
        }, s => s == HttpStatusCode.Created, TimeSpan.FromSeconds(10), "a submission after the refill", interval: TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public async Task Running_PerUserOverrideOfOne_OneAtATimeWhileOthersRun()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 4);
        using var capped = await server.CreateUserAsync("capped", extra: new JsonObject { ["maxRunning"] = 1 });
        using var free = await server.CreateUserAsync("free");
        var cappedTasks = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            cappedTasks.Add(await SubmitAsync(capped.Client, HttpStatusCode.Created, TaskJson.Command("sleep", "30")));
        }
        var freeTasks = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            freeTasks.Add(await SubmitAsync(free.Client, HttpStatusCode.Created, TaskJson.Command("sleep", "30")));
        }

        foreach (var id in freeTasks)
        {
            await server.WaitForStatusAsync(id, "running");
        }
        await server.WaitForStatusAsync(cappedTasks[0], "running");
        Assert.Equal(["running", "queued", "queued"], await StatusesAsync(server, cappedTasks));

        using (var cancel = await capped.Client.PostAsync($"/tasks/{cappedTasks[0]}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }
        await server.WaitForStatusAsync(cappedTasks[1], "running");
        Assert.Equal("queued", SkiffTestServer.Status(await server.GetTaskAsync(cappedTasks[2])));
        foreach (var id in cappedTasks.Concat(freeTasks))
        {
            using var cancel = await server.PostAsync($"/tasks/{id}/cancel");
        }
    }

    private static async Task<List<string>> StatusesAsync(SkiffTestServer server, IEnumerable<string> ids)
    {
        var statuses = new List<string>();
        foreach (var id in ids)
        {
            statuses.Add(SkiffTestServer.Status(await server.GetTaskAsync(id)));
        }
        return statuses;
    }

    private static Task<HttpResponseMessage> PostTaskAsync(HttpClient client, JsonObject? body = null) =>
        client.PostAsync("/tasks", Json((body ?? TaskJson.Command("true")).ToJsonString()));

    private static async Task<string> SubmitAsync(HttpClient client, HttpStatusCode expected, JsonObject? body = null)
    {
        using var response = await PostTaskAsync(client, body);
        return (string)(await SkiffTestServer.ReadJsonAsync(response, expected))["taskId"]!;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
