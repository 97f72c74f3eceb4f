using System.Text.RegularExpressions;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary>The real <c>skiff</c> program (<c>dotnet skiff.dll</c>) against a real server: output and exit codes as a user sees them.</summary>
public sealed partial class CliProcessTests(CliServerFixture fixture) : IClassFixture<CliServerFixture>
{
    private static readonly TimeSpan TaskDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Submit_CommandAfterDoubleDashWithFlags_PrintsOnlyTheTaskIdAndTheTaskRuns()
    {
        // --url/--api-key instead of the environment.
        var run = await fixture.RunAsync(
            new Dictionary<string, string?> { ["SKIFF_URL"] = null, ["SKIFF_API_KEY"] = null },
            "submit", "--url", fixture.Url, "--api-key", CliServerFixture.AdminKey, "--", "echo", "hello");

        Assert.True(run.ExitCode == 0, run.ToString());
        var id = Assert.Single(run.StdoutLines);
        Assert.Matches(TaskIdPattern(), id);
        using var api = fixture.CreateApi();
        var task = await WaitUntilTerminalAsync(api, id);
        Assert.Equal("succeeded", task.Status);
        Assert.Equal("hello\n", await api.LogsAsync(id));
    }

    [Fact]
    public async Task SubmitWait_ErrorWorkloadWithExitCode7_ExitsSevenAndShowsTheFailure()
    {
        var run = await fixture.RunAsync("submit", "--type", "error", "--param", "exitCode=7", "--max-attempts", "1", "--wait");

        Assert.True(run.ExitCode == 7, run.ToString());
        Assert.Matches(@"(?m)^task t_[0-9a-z]+ failed \(dead-lettered\)$", run.Stdout);
        Assert.Contains("exit code: 7", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitWait_ShellCommand_ExitsZeroAndPrintsItsOutputInTheResult()
    {
        var run = await fixture.RunAsync("submit", "--wait", "--", "sh", "-c", "echo hi");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"(?m)^task t_[0-9a-z]+ succeeded$", run.Stdout);
        Assert.Contains("    hi", run.StdoutLines);
    }

    [Fact]
    public async Task StatusListAndLogs_FinishedTask_ShowItsStateAndItsOutput()
    {
        var submitted = await fixture.RunAsync("submit", "--wait", "--", "sh", "-c", "echo first; echo second");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        var id = FinishedTaskId(submitted);

        var status = await fixture.RunAsync("status", id);
        var list = await fixture.RunAsync("list", "--status", "succeeded", "--limit", "500");
        var logs = await fixture.RunAsync("logs", id);

        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains(status.StdoutLines, l => Regex.IsMatch(l, $@"^id:\s+{id}$"));
        Assert.Contains(status.StdoutLines, l => Regex.IsMatch(l, @"^status:\s+succeeded$"));
        Assert.Contains(status.StdoutLines, l => Regex.IsMatch(l, @"^exit code:\s+0$"));
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.StartsWith("ID", list.StdoutLines[0], StringComparison.Ordinal);
        var rows = list.StdoutLines.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Contains(rows, r => r[0] == id);
        Assert.All(rows, r => Assert.Equal("succeeded", r[1]));
        Assert.True(logs.ExitCode == 0, logs.ToString());
        Assert.Equal("first\nsecond\n", logs.Stdout);
    }

    [Fact]
    public async Task LogsFollow_RunningTask_PrintsEveryLineAndEndsWithTheTask()
    {
        using var api = fixture.CreateApi();
        var id = await api.SubmitAsync(SkiffApi.CommandTask(["sh", "-c", "echo one; sleep 2; echo two"]));
        await Eventually.UntilAsync(() => api.GetAsync(id), t => t.Status == "running", TaskDeadline, $"{id} to run");

        var run = await fixture.RunAsync("logs", "-f", id);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("one\ntwo\n", run.Stdout);
        Assert.Equal("succeeded", (await api.GetAsync(id)).Status);
    }

    [Fact]
    public async Task Cancel_RunningSleep_PrintsCancelledAndStopsItsProcess()
    {
        using var api = fixture.CreateApi();
        var id = await api.SubmitAsync(SkiffApi.CommandTask(["sleep", "60"]));
        await Eventually.UntilAsync(() => api.GetAsync(id), t => t.Status == "running", TaskDeadline, $"{id} to run");
        var taskDirectory = Path.Combine(fixture.DataDirectory, "tasks", id);
        await Eventually.UntilAsync(() => TaskProcesses.Under(taskDirectory).Count > 0, TaskDeadline, $"the process of {id} to start");

        var run = await fixture.RunAsync("cancel", id);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal([$"{id} cancelled"], run.StdoutLines);
        Assert.Equal("cancelled", (await api.GetAsync(id)).Status);
        Assert.Empty(TaskProcesses.Under(taskDirectory));
    }

    [Fact]
    public async Task Dlq_TaskOutOfAttempts_IsListedAndRedriveRunsItAgain()
    {
        var failed = await fixture.RunAsync("submit", "--max-attempts", "1", "--wait", "--", "sh", "-c", "exit 3");
        Assert.True(failed.ExitCode == 3, failed.ToString());
        var id = FinishedTaskId(failed);

        var list = await fixture.RunAsync("dlq", "list");
        var redrive = await fixture.RunAsync("dlq", "redrive", id);

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.StdoutLines, l => l.StartsWith(id + " ", StringComparison.Ordinal));
        Assert.True(redrive.ExitCode == 0, redrive.ToString());
        Assert.Matches($"^{id} (queued|running)$", Assert.Single(redrive.StdoutLines));
        using var api = fixture.CreateApi();
        var task = await Eventually.UntilAsync(
            () => api.GetAsync(id),
            t => t.IsTerminal && t.History.Count(e => e.Status == "failed") == 2,
            TaskDeadline,
            $"{id} to fail again after the redrive");
        Assert.True(task is { Status: "failed", DeadLettered: true, Attempts: 1, ExitCode: 3 }, task.ToString());
    }

    [Fact]
    public async Task AnyVerb_ServerUnreachable_PrintsOneCannotReachLineAndExitsOne()
    {
        var url = $"http://127.0.0.1:{FreeTcpPort.Next()}";

        var run = await fixture.RunAsync(new Dictionary<string, string?> { ["SKIFF_URL"] = url }, "list");

        var line = run.AssertOneErrorLine();
        Assert.StartsWith($"error: cannot reach Skiff at {url}", line, StringComparison.Ordinal);
        Assert.Equal(1, run.ExitCode);
    }

    [Fact]
    public async Task AnyVerb_WrongApiKey_PrintsOneUnauthorizedLineAndFails()
    {
        var run = await fixture.RunAsync(new Dictionary<string, string?> { ["SKIFF_API_KEY"] = "sk_not_the_key" }, "list");

        var line = run.AssertOneErrorLine();
        Assert.Contains("unauthorized", line, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Status_UnknownTaskId_PrintsOneLineNamingTheIdAndFails()
    {
        const string Unknown = "t_00000000000000000000000000";

        var run = await fixture.RunAsync("status", Unknown);

        var line = run.AssertOneErrorLine();
        Assert.Contains(Unknown, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_PriorityEleven_PrintsOneLineNamingPriorityAndFails()
    {
        var run = await fixture.RunAsync("submit", "--priority", "11", "--", "true");

        var line = run.AssertOneErrorLine();
        Assert.Contains("priority", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_MaxWorkersFromFlagAndEnvironment_FlagWins()
    {
        using var api = fixture.CreateApi();

        var health = await api.HealthAsync();

        Assert.Equal(CliServerFixture.MaxWorkers, (int)health["workers"]!["max"]!);
    }

    /// <summary>The id in the first line of a <c>submit --wait</c> summary ("task ID STATUS").</summary>
    private static string FinishedTaskId(ProcessRun run)
    {
        var match = SummaryLine().Match(run.Stdout);
        Assert.True(match.Success, run.ToString());
        return match.Groups["id"].Value;
    }

    private static async Task<TaskView> WaitUntilTerminalAsync(SkiffApi api, string id) =>
        await Eventually.UntilAsync(() => api.GetAsync(id), t => t.IsTerminal, TaskDeadline, $"{id} to end");

    [GeneratedRegex("^t_[0-9a-z]+$")]
    private static partial Regex TaskIdPattern();

    [GeneratedRegex(@"(?m)^task (?<id>t_[0-9a-z]+) ")]
    private static partial Regex SummaryLine();
}
