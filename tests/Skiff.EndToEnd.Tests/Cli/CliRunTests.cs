using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Skiff.Cli;
using Skiff.Cli.Client;
using Skiff.Cli.Commands;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary>Whole invocations of <c>skiff</c>: arguments in, exit code and output out, the API faked.</summary>
public sealed class CliRunTests
{
    private const string Url = "http://127.0.0.1:7070";

    private static string TaskJson(string id, string status, int? exitCode = null, int attempts = 1) =>
        JsonSerializer.Serialize(new TaskDocument
        {
            TaskId = id,
            Status = status,
            Queue = "standard",
            Priority = 0,
            Command = ["sh", "-c", "exit 3"],
            Attempts = attempts,
            MaxAttempts = 3,
            ExitCode = exitCode,
            CreatedAt = DateTimeOffset.Parse("2026-01-02T03:04:05Z"),
        }, SkiffJsonContext.Default.TaskDocument);

    [Fact]
    public async Task RunAsync_Submit_PostsTheRequestWithKeyAndIdempotencyKeyAndPrintsOnlyTheId()
    {
        var api = new FakeApi().On(HttpMethod.Post, "/tasks", HttpStatusCode.Created, TaskJson("t_1", "queued"));
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("submit", "--url", Url, "--api-key", "k1", "--idempotency-key", "once", "--env", "A=1", "--", "echo", "hi");

        Assert.Equal(0, exitCode);
        Assert.Equal("t_1" + Environment.NewLine, host.Out.ToString());
        var request = Assert.Single(api.Requests);
        Assert.Equal("Bearer k1", request.Authorization);
        Assert.Equal("once", request.IdempotencyKey);
        Assert.Equal("""{"command":["echo","hi"],"env":{"A":"1"}}""", request.Body);
    }

    [Fact]
    public async Task RunAsync_SubmitWait_PollsUntilTerminalAndExitsWithTheTaskExitCode()
    {
        var polls = 0;
        var api = new FakeApi()
            .On(HttpMethod.Post, "/tasks", HttpStatusCode.Created, TaskJson("t_2", "queued"))
            .On(HttpMethod.Get, "/tasks/t_2", _ => FakeApi.Json(HttpStatusCode.OK, ++polls < 2 ? TaskJson("t_2", "running") : TaskJson("t_2", "failed", exitCode: 3, attempts: 3)))
            .On(HttpMethod.Get, "/tasks/t_2/result", HttpStatusCode.OK, """{"exitCode":3,"stdoutTail":"partial output\n","stderrTail":"boom\n","usage":{"wallMs":1500,"cpuMs":20,"peakMemoryBytes":3145728},"artifacts":[{"path":"out/report.txt","size":2048}]}""");
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("submit", "--url", Url, "--api-key", "k", "--wait", "--", "sh", "-c", "exit 3");

        Assert.Equal(3, exitCode);
        var output = host.Out.ToString();
        Assert.Contains("task t_2 failed", output, StringComparison.Ordinal);
        Assert.Contains("exit code: 3", output, StringComparison.Ordinal);
        Assert.Contains("partial output", output, StringComparison.Ordinal);
        Assert.Contains("boom", output, StringComparison.Ordinal);
        Assert.Contains("out/report.txt (2.0 KB)", output, StringComparison.Ordinal);
        Assert.Contains("peak memory 3.0 MB", output, StringComparison.Ordinal);
        Assert.Contains(host.ErrorLines, l => l == "t_2: running (attempt 1/3)");
    }

    [Fact]
    public async Task RunAsync_ProblemDetails_PrintsItsDetailAsOneErrorLineAndExitsOne()
    {
        var api = new FakeApi().On(HttpMethod.Get, "/tasks/nope", _ => FakeApi.Problem(HttpStatusCode.NotFound, "Not Found", "no task 'nope'"));
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("status", "nope", "--url", Url, "--api-key", "k");

        Assert.Equal(1, exitCode);
        Assert.Equal(["error: no task 'nope'"], host.ErrorLines);
        Assert.Empty(host.Out.ToString());
    }

    [Fact]
    public async Task RunAsync_ValidationProblem_NamesEachInvalidFieldOnOneLine()
    {
        var api = new FakeApi().On(
            HttpMethod.Post,
            "/tasks",
            HttpStatusCode.BadRequest,
            """{"title":"One or more validation errors occurred.","status":400,"errors":{"priority":["must be between 0 and 10"],"cpu":["must be at least 128"]}}""",
            "application/problem+json");
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("submit", "--url", Url, "--api-key", "k", "--priority", "99", "--cpu", "1", "--", "true");

        Assert.Equal(1, exitCode);
        Assert.Equal(["error: One or more validation errors occurred: priority: must be between 0 and 10; cpu: must be at least 128"], host.ErrorLines);
    }

    [Fact]
    public async Task RunAsync_Unauthorized_SaysUnauthorizedAndWhereTheKeyComesFrom()
    {
        var api = new FakeApi().On(HttpMethod.Get, "/tasks?limit=20", _ => FakeApi.Problem(HttpStatusCode.Unauthorized, "Unauthorized", "missing API key"));
        using var directory = new Skiff.Testing.TempDirectory();
        var host = new CliTestHost(api, currentDirectory: directory.Path);

        var exitCode = await host.RunAsync("list", "--url", Url);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(host.ErrorLines);
        Assert.StartsWith("error: unauthorized: missing API key", line, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(directory.Path, ".skiff", "admin.key"), line, StringComparison.Ordinal);
        Assert.Null(Assert.Single(api.Requests).Authorization);
    }

    [Fact]
    public async Task RunAsync_AdminKeyFileInDataDirectory_IsSentAsBearerToken()
    {
        using var directory = new Skiff.Testing.TempDirectory();
        Directory.CreateDirectory(directory.Combine(".skiff"));
        await File.WriteAllTextAsync(directory.Combine(".skiff", "admin.key"), "sk_from_file\n");
        var api = new FakeApi().On(HttpMethod.Get, "/tasks/t_9", HttpStatusCode.OK, TaskJson("t_9", "running"));
        var host = new CliTestHost(api, currentDirectory: directory.Path);

        var exitCode = await host.RunAsync("status", "t_9", "--url", Url);

        Assert.Equal(0, exitCode);
        Assert.Equal("Bearer sk_from_file", Assert.Single(api.Requests).Authorization);
        Assert.Contains(host.OutLines, l => l.StartsWith("status:", StringComparison.Ordinal) && l.EndsWith("running", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_NothingListening_SaysCannotReachAndHowToStartIt()
    {
        // A port that was just free: connecting to it is refused.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var host = new CliTestHost();

        var exitCode = await host.RunAsync("list", "--url", $"http://127.0.0.1:{port}", "--api-key", "k");

        Assert.Equal(1, exitCode);
        Assert.Equal([$"error: cannot reach Skiff at http://127.0.0.1:{port} (start it with: ./skiff server)"], host.ErrorLines);
    }

    [Fact]
    public async Task RunAsync_BadPair_ExitsTwoWithOneErrorLineAndSendsNothing()
    {
        var api = new FakeApi();
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("submit", "--url", Url, "--type", "cpu-intensive", "--param", "seconds");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Equal(["error: --param expects KEY=VALUE, got 'seconds'"], host.ErrorLines);
        Assert.Empty(api.Requests);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("list", "--limit", "many")]
    [InlineData("list", "--status", "sleeping")]
    [InlineData("status")]
    [InlineData("server", "--executor", "docker")]
    public async Task RunAsync_UsageError_ExitsTwoWithExactlyOneErrorLine(params string[] args)
    {
        var host = new CliTestHost();

        var exitCode = await host.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, exitCode);
        var line = Assert.Single(host.ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("submit", "--priority", "abc", "--", "true")]
    [InlineData("list", "--limit", "many")]
    public async Task RunAsync_NonNumericCount_SaysAWholeNumberNotTheClrTypeName(params string[] args)
    {
        // Regression: the line read "as expected type 'System.Nullable`1[System.Int32]'".
        var host = new CliTestHost();

        var exitCode = await host.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, exitCode);
        var line = Assert.Single(host.ErrorLines);
        Assert.Contains($"for option '{args[1]}' as a whole number", line, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WorkloadWithUnknownParameter_ExitsTwoWithoutRunningIt()
    {
        var host = new CliTestHost();

        var exitCode = await host.RunAsync("workload", "cpu-intensive", "--speed", "9");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.StartsWith("error: unknown parameter --speed", Assert.Single(host.ErrorLines), StringComparison.Ordinal);
        Assert.Empty(host.Out.ToString());
    }

    [Fact]
    public async Task RunAsync_Workload_RunsTheBuiltInWorkloadAndReturnsItsExitCode()
    {
        var host = new CliTestHost();

        var exitCode = await host.RunAsync("workload", "error", "--exitCode", "7", "--message", "--looks-like-a-flag");

        Assert.Equal(7, exitCode);
        Assert.Contains("--looks-like-a-flag", host.Out.ToString() + host.Error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Logs_CopiesTheTextAndFollowAsksTheServerToStream()
    {
        var api = new FakeApi()
            .On(HttpMethod.Get, "/tasks/t_3/logs", HttpStatusCode.OK, "line 1\nline 2\n", "text/plain")
            .On(HttpMethod.Get, "/tasks/t_3/logs?follow=true", HttpStatusCode.OK, "line 1\nline 2\nline 3\n", "text/plain");
        var plain = new CliTestHost(api);
        var following = new CliTestHost(api);

        Assert.Equal(0, await plain.RunAsync("logs", "t_3", "--url", Url, "--api-key", "k"));
        Assert.Equal(0, await following.RunAsync("logs", "-f", "t_3", "--url", Url, "--api-key", "k"));

        Assert.Equal("line 1\nline 2\n", plain.Out.ToString());
        Assert.Equal("line 1\nline 2\nline 3\n", following.Out.ToString());
    }

    [Fact]
    public async Task RunAsync_ListJson_PrintsTheItemsIncludingFieldsTheCliDoesNotKnow()
    {
        var api = new FakeApi().On(
            HttpMethod.Get,
            "/tasks?status=failed&limit=20",
            HttpStatusCode.OK,
            """{"items":[{"taskId":"t_4","status":"failed","attempts":3,"futureField":{"x":1}}],"nextCursor":null}""");
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("list", "--status", "failed", "--json", "--url", Url, "--api-key", "k");

        Assert.Equal(0, exitCode);
        using var document = JsonDocument.Parse(host.Out.ToString());
        var item = Assert.Single(document.RootElement.EnumerateArray().ToList());
        Assert.Equal("t_4", item.GetProperty("taskId").GetString());
        Assert.Equal(1, item.GetProperty("futureField").GetProperty("x").GetInt32());
    }

    [Fact]
    public async Task RunAsync_ListTable_PrintsOneAlignedRowPerTask()
    {
        var api = new FakeApi().On(
            HttpMethod.Get,
            "/tasks?limit=20",
            HttpStatusCode.OK,
            $$"""{"items":[{{TaskJson("t_5", "running")}},{{TaskJson("t_66", "succeeded", exitCode: 0)}}],"nextCursor":null}""");
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("list", "--url", Url, "--api-key", "k");

        Assert.Equal(0, exitCode);
        var lines = host.OutLines;
        Assert.Equal(3, lines.Count);
        Assert.Equal(["ID", "STATUS", "QUEUE", "PRIORITY", "ATTEMPTS", "CREATED", "DURATION"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("t_5   running", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("t_66  succeeded", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_CancelOfEndedTask_ReportsTheConflict()
    {
        var api = new FakeApi().On(HttpMethod.Post, "/tasks/t_7/cancel", _ => FakeApi.Problem(HttpStatusCode.Conflict, "Conflict", "task t_7 already ended (succeeded)"));
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("cancel", "t_7", "--url", Url, "--api-key", "k");

        Assert.Equal(1, exitCode);
        Assert.Equal(["error: task t_7 already ended (succeeded)"], host.ErrorLines);
    }

    [Fact]
    public async Task RunAsync_DlqRedrive_PostsToTheDeadLetterQueueAndPrintsTheNewStatus()
    {
        var api = new FakeApi().On(HttpMethod.Post, "/dead-letter/t_8/redrive", HttpStatusCode.OK, TaskJson("t_8", "queued", attempts: 0));
        var host = new CliTestHost(api);

        var exitCode = await host.RunAsync("dlq", "redrive", "t_8", "--url", Url, "--api-key", "k");

        Assert.Equal(0, exitCode);
        Assert.Equal(["t_8 queued"], host.OutLines);
    }

    [Fact]
    public async Task CollectAsync_ServerPagesSmallerThanTheLimit_FollowsCursorsUntilTheLimit()
    {
        var calls = new List<(int Remaining, string? Cursor)>();
        Task<TaskPage> Fetch(int remaining, string? cursor)
        {
            calls.Add((remaining, cursor));
            var start = cursor is null ? 0 : int.Parse(cursor, System.Globalization.CultureInfo.InvariantCulture);
            var items = Enumerable.Range(start, 2).Select(i => new TaskDocument { TaskId = $"t_{i}" }).ToList();
            return Task.FromResult(new TaskPage { Items = items, NextCursor = (start + 2).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        var tasks = await TaskCommands.CollectAsync(5, Fetch);

        Assert.Equal(["t_0", "t_1", "t_2", "t_3", "t_4"], tasks.Select(t => t.TaskId));
        Assert.Equal([(5, null), (3, "2"), (1, "4")], calls);
    }
}
