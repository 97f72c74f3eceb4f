using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>
/// Every bad input the API must refuse: an exact 4xx, an RFC 9457 problem naming the field, nothing stored,
/// and a server that stays healthy.
/// </summary>
[Collection(IdleServerCollection.Name)]
public sealed class BadInputTests(IdleServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    public static TheoryData<string, string> BadBodies => new()
    {
        { """{"type":"no-such-type"}""", "type" },
        { """{"type":"error","command":["true"]}""", "type" },
        { """{}""", "type" },
        { """{"priority":1}""", "type" },
        { """{"command":[]}""", "command" },
        { """{"command":[""]}""", "command" },
        { """{"command":["true"],"priority":-1}""", "priority" },
        { """{"command":["true"],"priority":11}""", "priority" },
        { """{"command":["true"],"timeoutSeconds":0}""", "timeoutSeconds" },
        { """{"command":["true"],"timeoutSeconds":86401}""", "timeoutSeconds" },
        { """{"command":["true"],"memoryMb":0}""", "memoryMb" },
        { """{"command":["true"],"memoryMb":1000000000}""", "memoryMb" },
        { """{"command":["true"],"cpu":0}""", "cpu" },
        { """{"command":["true"],"cpu":4097}""", "cpu" },
        { """{"command":["true"],"maxAttempts":0}""", "maxAttempts" },
        { """{"command":["true"],"maxAttempts":11}""", "maxAttempts" },
        { """{"command":["true"],"network":"bridge"}""", "network" },
        // Per-task limits (server maxima: 4096 pids, 65536 MB) and identity (root not allowed by default).
        { """{"command":["true"],"pidsLimit":0}""", "pidsLimit" },
        { """{"command":["true"],"pidsLimit":-1}""", "pidsLimit" },
        { """{"command":["true"],"pidsLimit":4097}""", "pidsLimit" },
        { """{"command":["true"],"pidsLimit":"many"}""", "pidsLimit" },
        { """{"command":["true"],"ephemeralStorageMb":0}""", "ephemeralStorageMb" },
        { """{"command":["true"],"ephemeralStorageMb":-1}""", "ephemeralStorageMb" },
        { """{"command":["true"],"ephemeralStorageMb":65537}""", "ephemeralStorageMb" },
        { """{"command":["true"],"user":"root"}""", "user" },
        { """{"command":["true"],"user":"abc"}""", "user" },
        { """{"command":["true"],"user":"-1"}""", "user" },
        { """{"command":["true"],"user":"0"}""", "user" },
        { """{"command":["true"],"user":"1000:0"}""", "user" },
        { """{"command":["true"],"user":""}""", "user" },
        { """{"command":["true"],"user":1000}""", "user" },
        { """{"command":["true"],"image":""}""", "image" },
        { """{"command":["a\u0000b"]}""", "command" },
        { """{"command":["true"],"env":{"A=B":"x"}}""", "env" },
        { """{"command":["true"],"env":{"":"x"}}""", "env" },
        { """{"command":["true"],"env":{"A":null}}""", "env" },
        { """{"command":["true"],"metadata":{"a":null}}""", "metadata" },
        // Wrong JSON types.
        { """{"command":["true"],"timeoutSeconds":99999999999}""", "timeoutSeconds" },
        { """{"command":[1]}""", "command[0]" },
        { """{"command":["true"],"priority":"high"}""", "priority" },
        { """{"command":["true"],"priority":1.5}""", "priority" },
        { """{"command":"ls"}""", "command" },
        { """{"command":["true"],"env":{"A":1}}""", "env.A" },
        { """{"command":["true"],"metadata":["a"]}""", "metadata" },
        { """{"type":7}""", "type" },
        { """{"type":"error","parameters":{"exitCode":[1]}}""", "parameters" },
        // Parameters: unknown, of the wrong kind, or given to a command.
        { """{"type":"error","parameters":{"bogus":"1"}}""", "parameters" },
        { """{"type":"cpu-intensive","parameters":{"seconds":"soon"}}""", "parameters" },
        { """{"command":["true"],"parameters":{"seconds":1}}""", "parameters" },
        // Unknown field: a typo must not silently fall back to a default.
        { """{"command":["true"],"priorty":5}""", "priorty" },
        // Not a JSON object.
        { "not json", "body" },
        { "", "body" },
        { "null", "body" },
        { "[1,2]", "body" },
        { """{"command":["true"]""", "body" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public Task Submit_BadBody_400NamingTheFieldAndNothingStored(string json, string field) =>
        AssertRejectedAsync(() => Server.PostJsonAsync("/tasks", json), HttpStatusCode.BadRequest, field);

    [Fact]
    public async Task Submit_NestedTooDeeply_400NamingTheParameters()
    {
        var count = await Server.CountTasksAsync();
        var json = """{"type":"error","parameters":{"a":""" + string.Concat(Enumerable.Repeat("""{"a":""", 100)) + "1" + new string('}', 102);

        using var response = await Server.PostJsonAsync("/tasks", json);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "parameters.a");
        Assert.Contains("nested too deeply", (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Equal(count, await Server.CountTasksAsync());
    }

    [Fact]
    public async Task Submit_SeveralBadFields_EveryFieldNamedAtOnce()
    {
        using var response = await Server.PostJsonAsync("/tasks", """{"command":[],"priority":11,"cpu":0,"memoryMb":0}""");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "command");
        Assert.Equal(["command", "cpu", "memoryMb", "priority"], problem["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public Task Submit_MetadataOver8KB_400NamingMetadata() =>
        AssertRejectedAsync(
            () => Server.PostJsonAsync("/tasks", TaskJson.Command("true").With("metadata", new JsonObject { ["big"] = new string('x', 8 * 1024) }).ToJsonString()),
            HttpStatusCode.BadRequest, "metadata");

    [Fact]
    public async Task Submit_MetadataJustUnder8KB_Accepted()
    {
        // "big" (3 bytes) + value: exactly the 8 KB limit.
        var task = await Server.SubmitAsync(TaskJson.Command("true").With("metadata", new JsonObject { ["big"] = new string('x', (8 * 1024) - 3) }));

        Assert.Equal("queued", SkiffTestServer.Status(task));
    }

    [Fact]
    public Task Submit_BodyOver1MB_413() =>
        AssertRejectedAsync(
            () => Server.PostOversizedAsync("/tasks",
                new StringContent($$"""{"command":["echo","{{new string('a', (1024 * 1024) + 16)}}"]}""", Encoding.UTF8, "application/json")),
            HttpStatusCode.RequestEntityTooLarge, "body");

    [Fact]
    public Task Submit_NotJsonContentType_415NamingContentType() =>
        AssertRejectedAsync(async () =>
        {
            using var content = new StringContent("""{"command":["true"]}""", Encoding.UTF8, "text/plain");
            return await Server.Client.PostAsync("/tasks", content);
        }, HttpStatusCode.UnsupportedMediaType, "Content-Type");

    [Fact]
    public Task Submit_IdempotencyKeyTooLong_400NamingTheHeader() =>
        AssertRejectedAsync(() => Server.PostJsonAsync("/tasks", """{"command":["true"]}""", new string('k', 201)),
            HttpStatusCode.BadRequest, "Idempotency-Key");

    public static TheoryData<string, string> UnknownTaskRequests()
    {
        var data = new TheoryData<string, string>();
        // Well-formed but never created (no id carries time 0); then malformed ids that never reach the store.
        foreach (var id in new[] { "t_" + new string('0', 26), "nope", "t_" + new string('Z', 26), "t_" + new string('0', 200), "t_00000000000000000000000000%27" })
        {
            data.Add("GET", $"/tasks/{id}");
            data.Add("POST", $"/tasks/{id}/cancel");
            data.Add("GET", $"/tasks/{id}/logs");
            data.Add("GET", $"/tasks/{id}/logs?follow=true");
            data.Add("GET", $"/tasks/{id}/result");
            data.Add("GET", $"/tasks/{id}/artifacts/out.txt");
            data.Add("POST", $"/dead-letter/{id}/redrive");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(UnknownTaskRequests))]
    public Task AnyTaskEndpoint_UnknownOrMalformedTaskId_404NamingTaskId(string method, string path) =>
        AssertRejectedAsync(() => Server.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)), HttpStatusCode.NotFound, "taskId");

    [Theory]
    [InlineData("/tasks?status=bogus", "status")]
    [InlineData("/tasks?status=QUEUED", "status")]
    [InlineData("/tasks?limit=0", "limit")]
    [InlineData("/tasks?limit=100000", "limit")]
    [InlineData("/tasks?limit=ten", "limit")]
    [InlineData("/tasks?cursor=abc", "cursor")]
    [InlineData("/tasks?cursor=0", "cursor")]
    [InlineData("/tasks?cursor=-5", "cursor")]
    [InlineData("/tasks?priority=11", "priority")]
    [InlineData("/tasks?priority=high", "priority")]
    [InlineData("/dead-letter?limit=0", "limit")]
    [InlineData("/dead-letter?cursor=abc", "cursor")]
    public Task List_BadQueryParameter_400NamingTheParameter(string pathAndQuery, string field) =>
        AssertRejectedAsync(() => Server.Client.GetAsync(pathAndQuery), HttpStatusCode.BadRequest, field);

    private async Task AssertRejectedAsync(Func<Task<HttpResponseMessage>> send, HttpStatusCode status, string field)
    {
        var count = await Server.CountTasksAsync();

        using (var response = await send())
        {
            await ProblemAssert.IsProblemAsync(response, status, field);
        }

        Assert.Equal(count, await Server.CountTasksAsync());
        await Server.AssertHealthyAsync();
    }
}
