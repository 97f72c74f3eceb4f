using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>Tasks that really run (process executor), driven and observed over HTTP only.</summary>
[Collection(RunningServerCollection.Name)]
public sealed class TaskExecutionTests(RunningServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    private static List<string> Statuses(JsonObject task) => task["events"]!.AsArray().Select(e => (string)e!["status"]!).ToList();

    [Fact]
    public async Task Get_SucceededTask_EventsQueuedRunningSucceeded()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo hi"));

        var task = await Server.WaitForEndAsync(taskId);

        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        Assert.Equal(["queued", "running", "succeeded"], Statuses(task));
        Assert.Equal([0, 1, 1], task["events"]!.AsArray().Select(e => (int)e!["attempt"]!));
        Assert.Equal(1, (int)task["attempts"]!);
        Assert.Equal(0, (int)task["exitCode"]!);
        Assert.Null(task["error"]);
        Assert.False((bool)task["deadLettered"]!);
        var created = (DateTimeOffset)task["createdAt"]!;
        var started = (DateTimeOffset)task["startedAt"]!;
        var completed = (DateTimeOffset)task["completedAt"]!;
        Assert.True(created <= started && started <= completed, $"{created:O} {started:O} {completed:O}");
        Assert.Equal((long)(completed - started).TotalMilliseconds, (long)task["durationMs"]!);
    }

    [Fact]
    public async Task Logs_StdoutAndStderr_PlainTextLines()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo out-1; echo err-1 >&2; echo out-2; printf 'no newline'"));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        using var response = await Server.Client.GetAsync($"/tasks/{taskId}/logs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["err-1", "no newline", "out-1", "out-2"], lines.Order(StringComparer.Ordinal));
        // Each stream keeps its own order (the two pipes are read independently).
        Assert.True(Array.IndexOf(lines, "out-1") < Array.IndexOf(lines, "out-2"));
    }

    [Fact]
    public async Task Logs_Timestamps_EachLinePrefixedWithItsTime()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo stamped"));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        var log = await Server.Client.GetStringAsync($"/tasks/{taskId}/logs?timestamps=true");

        var line = Assert.Single(log.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        Assert.True(DateTimeOffset.TryParse(line[..space], CultureInfo.InvariantCulture, DateTimeStyles.None, out _), line);
        Assert.Equal("stamped", line[(space + 1)..]);
    }

    [Fact]
    public async Task Logs_Follow_StreamsLinesAsPrintedAndEndsWithTheTask()
    {
        // The task prints its second line only after the test has received the first one through the stream:
        // no timing assumption, and a follow that buffered until the end would never see line-1 in time.
        using var temp = new TempDirectory();
        var go = temp.Combine("go");
        var taskId = await Server.SubmitIdAsync(
            TaskJson.Shell("echo line-1; while [ ! -e \"$GO\" ]; do sleep 0.02; done; echo line-2; echo err-end >&2")
                .With("env", new JsonObject { ["GO"] = go })
                .With("timeoutSeconds", 60));
        using var deadline = new CancellationTokenSource(SkiffTestServer.DefaultWait);

        using var response = await Server.Client.GetAsync($"/tasks/{taskId}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(deadline.Token));
        Assert.Equal("line-1", await reader.ReadLineAsync(deadline.Token));
        Assert.Equal("running", SkiffTestServer.Status(await Server.GetTaskAsync(taskId)));
        await File.WriteAllTextAsync(go, "", deadline.Token);
        var rest = new List<string>();
        while (await reader.ReadLineAsync(deadline.Token) is { } line)
        {
            rest.Add(line);
        }

        // The stream ended on its own, and only once the task had ended.
        Assert.Equal("succeeded", SkiffTestServer.Status(await Server.GetTaskAsync(taskId)));
        Assert.Equal(["err-end", "line-2"], rest.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Logs_FollowFinishedTask_ReturnsWholeLogAndEnds()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo a; echo b"));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        var log = await Server.Client.GetStringAsync($"/tasks/{taskId}/logs?follow=true");

        Assert.Equal("a\nb\n", log);
    }

    [Theory]
    [InlineData("")]
    [InlineData("?follow=true")]
    public async Task Logs_MoreLinesThanOneStoreRead_AllInOrder(string query)
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("seq", "1", "2500"));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        var log = await Server.Client.GetStringAsync($"/tasks/{taskId}/logs{query}");

        Assert.Equal(Enumerable.Range(1, 2500).Select(i => i.ToString(CultureInfo.InvariantCulture)), log.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Result_TaskWritingOutputs_TailsUsageAndArtifactsServed()
    {
        var script = """
            mkdir -p "$SKIFF_OUTPUT/sub/deeper"
            printf 'hello' > "$SKIFF_OUTPUT/a.txt"
            printf 'binary\000bytes' > "$SKIFF_OUTPUT/sub/deeper/b.bin"
            echo to-stdout; echo to-stderr >&2
            sleep 0.05
            """;
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell(script));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        var result = await Server.GetJsonAsync($"/tasks/{taskId}/result");

        Assert.Equal(0, (int)result["exitCode"]!);
        Assert.Equal("to-stdout", (string)result["stdoutTail"]!);
        Assert.Equal("to-stderr", (string)result["stderrTail"]!);
        Assert.True((long)result["usage"]!["wallMs"]! >= 50, result.ToJsonString());
        Assert.True((long)result["usage"]!["cpuMs"]! >= 0);
        Assert.True((long)result["usage"]!["peakMemoryBytes"]! >= 0);
        var artifacts = result["artifacts"]!.AsArray().Select(a => ((string)a!["path"]!, (long)a["size"]!)).ToList();
        Assert.Equal([("a.txt", 5L), ("sub/deeper/b.bin", 12L)], artifacts);

        using var a = await Server.Client.GetAsync($"/tasks/{taskId}/artifacts/a.txt");
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal("application/octet-stream", a.Content.Headers.ContentType?.MediaType);
        Assert.Equal("hello"u8.ToArray(), await a.Content.ReadAsByteArrayAsync());
        var b = await Server.Client.GetByteArrayAsync($"/tasks/{taskId}/artifacts/sub/deeper/b.bin");
        Assert.Equal("binary\0bytes"u8.ToArray(), b);
    }

    [Fact]
    public async Task Artifact_NotListed_404NamingThePath()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("printf x > \"$SKIFF_OUTPUT/x.txt\""));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        using var response = await Server.Client.GetAsync($"/tasks/{taskId}/artifacts/y.txt");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "y.txt");
    }

    [Fact]
    public async Task Cancel_RunningTask_CancelledQuicklyAndProcessGone()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo pid=$$; exec sleep 30"));
        var log = await Server.WaitForLogAsync(taskId, "pid=");
        var pid = Processes.PidIn(log);
        Assert.True(await Processes.BecomesSleepingAsync(pid), $"process {pid} should be running sleep 30");
        var clock = Stopwatch.StartNew();

        using var response = await Server.PostAsync($"/tasks/{taskId}/cancel");

        var task = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"cancel took {clock.Elapsed}");
        Assert.Equal("cancelled", SkiffTestServer.Status(task));
        Assert.Equal(["queued", "running", "cancelled"], Statuses(task));
        Assert.Equal("cancelled by request", (string)task["error"]!);
        Assert.False(Processes.IsSleeping(pid), $"process {pid} outlived the cancel");
        // Cancelled tasks are never retried.
        Assert.Equal(1, (int)task["attempts"]!);
        Assert.False((bool)task["deadLettered"]!);
    }

    [Fact]
    public async Task Retry_CommandFailingEveryTime_FailedDeadLetteredAfterMaxAttemptsThenRedriven()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo attempt $SKIFF_ATTEMPT; exit 3").With("maxAttempts", 2));

        var task = await Server.WaitForEndAsync(taskId);

        Assert.Equal("failed", SkiffTestServer.Status(task));
        Assert.True((bool)task["deadLettered"]!);
        Assert.Equal(2, (int)task["attempts"]!);
        Assert.Equal(3, (int)task["exitCode"]!);
        Assert.Equal("exited with code 3", (string)task["error"]!);
        Assert.Equal(["queued", "running", "retrying", "running", "failed"], Statuses(task));
        Assert.Equal("attempt 1\nattempt 2\n", await Server.Client.GetStringAsync($"/tasks/{taskId}/logs"));
        var deadLetter = await Server.GetJsonAsync("/dead-letter?limit=500");
        Assert.Contains(taskId, deadLetter["items"]!.AsArray().Select(t => (string)t!["taskId"]!));

        using var redrive = await Server.PostAsync($"/dead-letter/{taskId}/redrive");

        var redriven = await SkiffTestServer.ReadJsonAsync(redrive, HttpStatusCode.OK);
        Assert.Equal("queued", SkiffTestServer.Status(redriven));
        Assert.Equal(0, (int)redriven["attempts"]!);
        Assert.False((bool)redriven["deadLettered"]!);
        deadLetter = await Server.GetJsonAsync("/dead-letter?limit=500");
        Assert.DoesNotContain(taskId, deadLetter["items"]!.AsArray().Select(t => (string)t!["taskId"]!));
        // It runs again with fresh attempts, and fails its way back into the dead-letter queue.
        var again = await Server.WaitForTaskAsync(taskId, t => SkiffTestServer.Status(t) == "failed" && (bool)t["deadLettered"]!, "failed again");
        Assert.Equal(2, (int)again["attempts"]!);
        Assert.Equal(["queued", "running", "retrying", "running", "failed", "queued", "running", "retrying", "running", "failed"], Statuses(again));
        Assert.Equal("attempt 1\nattempt 2\nattempt 1\nattempt 2\n", await Server.Client.GetStringAsync($"/tasks/{taskId}/logs"));
    }

    [Fact]
    public async Task Retry_FailsThenSucceeds_SucceededNotDeadLettered()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("[ \"$SKIFF_ATTEMPT\" = 2 ]").With("maxAttempts", 3));

        var task = await Server.WaitForEndAsync(taskId);

        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        Assert.Equal(2, (int)task["attempts"]!);
        Assert.False((bool)task["deadLettered"]!);
        Assert.Equal(["queued", "running", "retrying", "running", "succeeded"], Statuses(task));
        // The second attempt waited out the drawn backoff (regression: the dispatch queue skipped it).
        var events = task["events"]!.AsArray();
        var delay = double.Parse(Regex.Match((string)events[2]!["reason"]!, @" in (\d+(\.\d+)?)s$").Groups[1].Value, CultureInfo.InvariantCulture);
        var waited = (DateTimeOffset)events[3]!["at"]! - (DateTimeOffset)events[2]!["at"]!;
        Assert.True(waited.TotalMilliseconds >= (delay * 1000) - 1, $"retried after {waited.TotalMilliseconds} ms, backoff {delay} s");
    }

    [Fact]
    public async Task Redrive_SucceededTask_409()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        using var response = await Server.PostAsync($"/dead-letter/{taskId}/redrive");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, taskId);
        Assert.Equal("succeeded", SkiffTestServer.Status(await Server.GetTaskAsync(taskId)));
    }

    [Fact]
    public async Task Cancel_SucceededTask_409()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        using var response = await Server.PostAsync($"/tasks/{taskId}/cancel");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, taskId);
        Assert.Contains("succeeded", (string)problem["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timeout_SleepBeyondTimeout_TimedOutAndDeadLettered()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo pid=$$; exec sleep 30").With("timeoutSeconds", 1).With("maxAttempts", 1));

        var task = await Server.WaitForEndAsync(taskId);

        Assert.Equal("timed_out", SkiffTestServer.Status(task));
        Assert.True((bool)task["deadLettered"]!);
        Assert.Contains("timed out", (string)task["error"]!, StringComparison.Ordinal);
        Assert.InRange((long)task["durationMs"]!, 900, 15_000);
        var pid = Processes.PidIn(await Server.Client.GetStringAsync($"/tasks/{taskId}/logs"));
        Assert.False(Processes.IsSleeping(pid), $"process {pid} outlived its timeout");
    }

    [Fact]
    public async Task Submit_CommandNotFound_FailedWithTheReasonInLogAndError()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("/no/such/program").With("maxAttempts", 1));

        var task = await Server.WaitForEndAsync(taskId);

        Assert.Equal("failed", SkiffTestServer.Status(task));
        Assert.Contains("command not found", (string)task["error"]!, StringComparison.Ordinal);
        Assert.Contains("command not found: /no/such/program", await Server.Client.GetStringAsync($"/tasks/{taskId}/logs"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_EnvAndSkiffVariables_VisibleToTheTask()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Shell("echo \"$GREETING $SKIFF_TASK_ID $SKIFF_ATTEMPT\"")
            .With("env", new JsonObject { ["GREETING"] = "hello", ["SKIFF_TASK_ID"] = "spoofed" }));
        await Server.WaitForStatusAsync(taskId, "succeeded");

        Assert.Equal($"hello {taskId} 1\n", await Server.Client.GetStringAsync($"/tasks/{taskId}/logs"));
    }
}
