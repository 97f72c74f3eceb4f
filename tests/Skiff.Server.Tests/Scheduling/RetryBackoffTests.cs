using System.Net;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Scheduling;

/// <summary>A task waiting out its retry backoff; the backoff is long here (ceiling one hour) so the wait is observable.</summary>
public sealed class RetryBackoffTests
{
    [Fact]
    public async Task Cancel_TaskWaitingForRetry_CancelledAndOutOfTheQueue()
    {
        // Regression: the dispatch queue ignored the backoff (the store's ReadyAt equals NotBefore), so a failed
        // attempt was retried at once and the task never stayed in "retrying".
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 1, new Dictionary<string, string?>
        {
            ["Skiff:RetryBaseDelay"] = "01:00:00",
            ["Skiff:RetryMaxDelay"] = "1.00:00:00",
        });
        var taskId = await server.SubmitIdAsync(TaskJson.Shell("exit 1").With("maxAttempts", 3));
        var retrying = await server.WaitForStatusAsync(taskId, "retrying");
        Assert.True((DateTimeOffset)retrying["nextAttemptAt"]! > DateTimeOffset.UtcNow, retrying.ToJsonString());
        // The worker puts the task back in the ready queue just after the store says "retrying".
        await Skiff.Testing.Eventually.UntilAsync(async () => (int)(await server.GetJsonAsync("/health"))["queues"]!["standard"]!,
            depth => depth == 1, TimeSpan.FromSeconds(10), "the retrying task in the standard queue");

        using var response = await server.PostAsync($"/tasks/{taskId}/cancel");

        var task = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("cancelled", SkiffTestServer.Status(task));
        Assert.Null(task["nextAttemptAt"]);
        Assert.Equal(["retrying", "cancelled"], task["events"]!.AsArray().Select(e => (string)e!["status"]!).TakeLast(2));
        Assert.Equal(0, (int)(await server.GetJsonAsync("/health"))["queues"]!["standard"]!);
    }
}
