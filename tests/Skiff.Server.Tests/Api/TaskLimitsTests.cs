using System.Net;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>pidsLimit, ephemeralStorageMb and user on the wire: defaults, round trip and the server's settings.</summary>
[Collection(IdleServerCollection.Name)]
public sealed class TaskLimitsTests(IdleServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    [Fact]
    public async Task Submit_NoLimits_DocumentShowsDefaults()
    {
        var document = await Server.SubmitAsync(TaskJson.Command("true"));

        Assert.Equal(256, (int)document["pidsLimit"]!);
        Assert.Equal(1024, (int)document["ephemeralStorageMb"]!);
        Assert.Equal("65534:65534", (string)document["user"]!);
    }

    [Fact]
    public async Task Submit_Limits_StoredAndReturnedByGet()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true").With("pidsLimit", 20).With("ephemeralStorageMb", 4).With("user", "1000:1000"));

        var document = await Server.GetTaskAsync(taskId);

        Assert.Equal(20, (int)document["pidsLimit"]!);
        Assert.Equal(4, (int)document["ephemeralStorageMb"]!);
        Assert.Equal("1000:1000", (string)document["user"]!);
    }

    [Fact]
    public async Task Submit_ServerSettings_MaximaAndRootPolicyApplied()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?>
        {
            ["Skiff:MaxPidsPerTask"] = "50",
            ["Skiff:MaxEphemeralStorageMb"] = "10",
            ["Skiff:AllowRootTasks"] = "true",
        });
        var count = await server.CountTasksAsync();

        using (var response = await server.PostJsonAsync("/tasks", """{"command":["true"],"pidsLimit":51,"ephemeralStorageMb":11}"""))
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "pidsLimit");
            Assert.Equal(["ephemeralStorageMb", "pidsLimit"], problem["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal));
        }
        Assert.Equal(count, await server.CountTasksAsync());

        var accepted = await server.SubmitAsync(TaskJson.Command("true").With("pidsLimit", 50).With("ephemeralStorageMb", 10).With("user", "0"));
        Assert.Equal("0", (string)accepted["user"]!);
    }
}
