using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Scheduling;

/// <summary>The two-lane order end to end: one worker slot, a blocker holding it while the queue fills.</summary>
public sealed class LaneOrderingTests
{
    [Fact]
    public async Task Dispatch_OneSlotFreed_PriorityLaneFirstHigherFirstFifoWithinPriority()
    {
        using var temp = new TempDirectory();
        var release = temp.Combine("release");
        var order = temp.Combine("order");
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 1);
        var blocker = await server.SubmitIdAsync(TaskJson.Shell("while [ ! -e \"$RELEASE\" ]; do sleep 0.02; done")
            .With("priority", 10)
            .With("env", new JsonObject { ["RELEASE"] = release }));
        await server.WaitForStatusAsync(blocker, "running");

        // Submission order mixes lanes and priorities; each task appends its name when it runs.
        string[] submitted = ["s0-first", "p5", "s4", "p9-first", "s0-second", "p9-second", "p7", "s2", "p10"];
        var ids = new Dictionary<string, string>();
        foreach (var name in submitted)
        {
            var priority = int.Parse(name.Split('-')[0][1..], System.Globalization.CultureInfo.InvariantCulture);
            ids[name] = await server.SubmitIdAsync(TaskJson.Shell($"echo {name} >> \"$ORDER\"")
                .With("priority", priority)
                .With("env", new JsonObject { ["ORDER"] = order }));
        }
        var health = await server.GetJsonAsync("/health");
        Assert.Equal(5, (int)health["queues"]!["priority"]!);
        Assert.Equal(4, (int)health["queues"]!["standard"]!);

        await File.WriteAllTextAsync(release, "");
        var ended = new Dictionary<string, JsonObject>();
        foreach (var (name, id) in ids)
        {
            ended[name] = await server.WaitForStatusAsync(id, "succeeded");
        }

        string[] expected = ["p10", "p9-first", "p9-second", "p7", "p5", "s4", "s2", "s0-first", "s0-second"];
        Assert.Equal(expected, await File.ReadAllLinesAsync(order));
        // The events say the same: each started (running) no earlier than the one before it in that order.
        var starts = expected.Select(name => (DateTimeOffset)ended[name]["events"]!.AsArray().Single(e => (string)e!["status"]! == "running")!["at"]!).ToList();
        Assert.Equal(starts.Order(), starts);
        var blockerEnd = (DateTimeOffset)(await server.GetTaskAsync(blocker))["completedAt"]!;
        Assert.True(blockerEnd <= starts[0], "nothing started while the blocker held the only slot");
    }
}
