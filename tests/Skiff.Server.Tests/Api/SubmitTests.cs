using System.Net;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>POST /tasks, GET /tasks/{id} and cancelling queued tasks, on a server that never runs them.</summary>
[Collection(IdleServerCollection.Name)]
public sealed class SubmitTests(IdleServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    [Fact]
    public async Task Submit_Command_Returns201WithLocationAndDefaultsFilledIn()
    {
        using var response = await Server.PostJsonAsync("/tasks", """{"command":["echo","hello"]}""");

        var task = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created);
        var taskId = (string)task["taskId"]!;
        Assert.Matches("^t_[0-9a-z]{26}$", taskId);
        Assert.Equal($"/tasks/{taskId}", response.Headers.Location?.OriginalString);
        Assert.Equal("queued", (string)task["status"]!);
        Assert.False((bool)task["deadLettered"]!);
        Assert.Equal("standard", (string)task["queue"]!);
        Assert.Equal(0, (int)task["priority"]!);
        Assert.Equal("u_admin", (string)task["userId"]!);
        Assert.Null(task["type"]);
        Assert.Equal(["echo", "hello"], task["command"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("busybox", (string)task["image"]!);
        Assert.Equal(300, (int)task["timeoutSeconds"]!);
        Assert.Equal(256, (int)task["cpu"]!);
        Assert.Equal(512, (int)task["memoryMb"]!);
        Assert.Equal(3, (int)task["maxAttempts"]!);
        Assert.Equal("none", (string)task["network"]!);
        Assert.Equal(0, (int)task["attempts"]!);
        Assert.True(DateTimeOffset.UtcNow - (DateTimeOffset)task["createdAt"]! < TimeSpan.FromMinutes(1));
        Assert.Null(task["startedAt"]);
        Assert.Null(task["completedAt"]);
        Assert.Null(task["exitCode"]);
        Assert.Empty(task["metadata"]!.AsObject());
        Assert.Empty(task["env"]!.AsObject());

        // The stored document is the one answered (regression: the 201 carried a createdAt more precise than the stored one).
        var stored = await Server.GetTaskAsync(taskId);
        Assert.Equal(taskId, (string)stored["taskId"]!);
        Assert.Equal((DateTimeOffset)task["createdAt"]!, (DateTimeOffset)stored["createdAt"]!);
    }

    [Fact]
    public async Task Submit_TypeWithParametersAndOptions_StoresThemWithParametersAsText()
    {
        var body = TaskJson.Type("cpu-intensive", new JsonObject { ["seconds"] = 2 })
            .With("priority", 7)
            .With("timeoutSeconds", 60)
            .With("cpu", 2048)
            .With("memoryMb", 64)
            .With("maxAttempts", 5)
            .With("env", new JsonObject { ["MODE"] = "fast" })
            .With("metadata", new JsonObject { ["team"] = "search" });

        var task = await Server.SubmitAsync(body);

        Assert.Equal("cpu-intensive", (string)task["type"]!);
        Assert.Null(task["command"]);
        Assert.Equal("2", (string)task["parameters"]!["seconds"]!);
        Assert.Equal("priority", (string)task["queue"]!);
        Assert.Equal(7, (int)task["priority"]!);
        Assert.Equal(60, (int)task["timeoutSeconds"]!);
        Assert.Equal(2048, (int)task["cpu"]!);
        Assert.Equal(64, (int)task["memoryMb"]!);
        Assert.Equal(5, (int)task["maxAttempts"]!);
        Assert.Equal("fast", (string)task["env"]!["MODE"]!);
        Assert.Equal("search", (string)task["metadata"]!["team"]!);
    }

    [Theory]
    [InlineData(4, "standard")]
    [InlineData(5, "priority")]
    [InlineData(10, "priority")]
    public async Task Submit_Priority_LaneFollowsPriority(int priority, string lane)
    {
        var task = await Server.SubmitAsync(TaskJson.Command("true").With("priority", priority));

        Assert.Equal(lane, (string)task["queue"]!);
    }

    [Fact]
    public async Task Submit_SameIdempotencyKeyTwice_Returns200WithSameTaskAndStoresNothingNew()
    {
        var key = "submit-" + Guid.NewGuid().ToString("N");
        var first = await Server.SubmitAsync(TaskJson.Command("echo", "once"), key);
        var count = await Server.CountTasksAsync();

        using var replay = await Server.PostJsonAsync("/tasks", TaskJson.Command("echo", "once").ToJsonString(), key);

        var second = await SkiffTestServer.ReadJsonAsync(replay, HttpStatusCode.OK);
        Assert.Equal((string)first["taskId"]!, (string)second["taskId"]!);
        Assert.Equal(count, await Server.CountTasksAsync());
    }

    [Fact]
    public async Task Submit_SameIdempotencyKeyConcurrently_OneTaskCreatedAllAnswersName()
    {
        var key = "race-" + Guid.NewGuid().ToString("N");
        var count = await Server.CountTasksAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Server.PostJsonAsync("/tasks", """{"command":["true"]}""", key)));

        try
        {
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
            Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
            var ids = new HashSet<string>();
            foreach (var response in responses)
            {
                ids.Add((string)(await SkiffTestServer.ReadJsonAsync(response, response.StatusCode))["taskId"]!);
            }
            Assert.Single(ids);
            Assert.Equal(count + 1, await Server.CountTasksAsync());
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Submit_DifferentIdempotencyKeys_CreatesTwoTasks()
    {
        var first = await Server.SubmitAsync(TaskJson.Command("true"), "a-" + Guid.NewGuid().ToString("N"));
        var second = await Server.SubmitAsync(TaskJson.Command("true"), "b-" + Guid.NewGuid().ToString("N"));

        Assert.NotEqual((string)first["taskId"]!, (string)second["taskId"]!);
    }

    [Fact]
    public async Task Get_QueuedTask_HasSubmittedEvent()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));

        var task = await Server.GetTaskAsync(taskId);

        var queued = Assert.Single(task["events"]!.AsArray());
        Assert.Equal("queued", (string)queued!["status"]!);
        Assert.Equal(0, (int)queued["attempt"]!);
        Assert.Equal("submitted", (string)queued["reason"]!);
    }

    [Fact]
    public async Task Cancel_QueuedTask_CancelledAndLeavesTheQueue()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true").With("priority", 6));
        var before = await Server.GetJsonAsync("/health");

        using var response = await Server.PostAsync($"/tasks/{taskId}/cancel");

        var task = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("cancelled", (string)task["status"]!);
        Assert.NotNull(task["completedAt"]);
        Assert.Equal(["queued", "cancelled"], task["events"]!.AsArray().Select(e => (string)e!["status"]!));
        Assert.Equal("cancelled", SkiffTestServer.Status(await Server.GetTaskAsync(taskId)));
        var after = await Server.GetJsonAsync("/health");
        Assert.Equal((int)before["queues"]!["priority"]! - 1, (int)after["queues"]!["priority"]!);
    }

    [Fact]
    public async Task Cancel_TerminalTask_Returns409NamingTheTask()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));
        using (var first = await Server.PostAsync($"/tasks/{taskId}/cancel"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var second = await Server.PostAsync($"/tasks/{taskId}/cancel");

        var problem = await ProblemAssert.IsProblemAsync(second, HttpStatusCode.Conflict, taskId);
        Assert.Contains("cancelled", (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Equal("cancelled", SkiffTestServer.Status(await Server.GetTaskAsync(taskId)));
    }

    [Fact]
    public async Task Result_QueuedTask_Returns404NoResultYet()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));

        using var response = await Server.Client.GetAsync($"/tasks/{taskId}/result");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, taskId);
    }

    [Fact]
    public async Task Logs_QueuedTask_EmptyPlainText()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));

        using var response = await Server.Client.GetAsync($"/tasks/{taskId}/logs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Redrive_TaskNotDeadLettered_Returns409()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));

        using var response = await Server.PostAsync($"/dead-letter/{taskId}/redrive");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, taskId);
        Assert.Contains("not in the dead-letter queue", (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Equal("queued", SkiffTestServer.Status(await Server.GetTaskAsync(taskId)));
    }

    [Fact]
    public async Task Health_ApiOnlyServer_NoWorkersAndQueuedTasksCounted()
    {
        await Server.SubmitIdAsync(TaskJson.Command("true").With("priority", 9));

        var health = await Server.GetJsonAsync("/health");

        Assert.Equal(0, (int)health["workers"]!["max"]!);
        Assert.Equal(0, (int)health["workers"]!["current"]!);
        Assert.Equal(0, (int)health["running"]!);
        Assert.True((int)health["queues"]!["priority"]! >= 1);
    }
}
