using System.Net;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Scheduling;

/// <summary>The retention job deletes ended tasks with their logs, results and files; waiting and running tasks stay.</summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task Retention_TaskEndedLongerAgo_DeletedWithLogsResultAndFilesWhileQueuedAndRunningStay()
    {
        using var temp = new TempDirectory();
        var release = temp.Combine("release");
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 1, new Dictionary<string, string?>
        {
            ["Skiff:Retention"] = "00:00:01",
            ["Skiff:RetentionInterval"] = "00:00:00.200",
        });
        var finished = await server.SubmitIdAsync(TaskJson.Shell("echo bye; printf x > \"$SKIFF_OUTPUT/out.txt\""));
        await server.WaitForStatusAsync(finished, "succeeded");
        var finishedDirectory = Path.Combine(server.DataDirectory, "tasks", finished);
        Assert.True(Directory.Exists(finishedDirectory), finishedDirectory);
        var running = await server.SubmitIdAsync(TaskJson.Shell("while [ ! -e \"$RELEASE\" ]; do sleep 0.02; done")
            .With("env", new JsonObject { ["RELEASE"] = release }));
        await server.WaitForStatusAsync(running, "running");
        var queued = await server.SubmitIdAsync(TaskJson.Command("true"));

        await Eventually.UntilAsync(async () =>
        {
            using var response = await server.Client.GetAsync($"/tasks/{finished}");
            return response.StatusCode;
        }, status => status == HttpStatusCode.NotFound, SkiffTestServer.DefaultWait, $"retention to delete {finished}", interval: SkiffTestServer.PollInterval);

        foreach (var path in new[] { $"/tasks/{finished}/logs", $"/tasks/{finished}/result", $"/tasks/{finished}/artifacts/out.txt" })
        {
            using var response = await server.Client.GetAsync(path);
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "taskId");
        }
        // The rows go first, the files right after them: the API can answer 404 a moment before the directory is gone.
        await Eventually.UntilAsync(() => !Directory.Exists(finishedDirectory), SkiffTestServer.DefaultWait, $"retention to delete {finishedDirectory}");
        Assert.DoesNotContain(finished, await server.ListAllTaskIdsAsync());
        Assert.Equal("queued", SkiffTestServer.Status(await server.GetTaskAsync(queued)));
        Assert.Equal("running", SkiffTestServer.Status(await server.GetTaskAsync(running)));

        await File.WriteAllTextAsync(release, "");
        await server.WaitForStatusAsync(queued, "succeeded");
    }
}
