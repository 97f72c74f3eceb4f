using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Skiff.Server.Secrets;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Secrets;

/// <summary>Secrets across a restart on the same data directory: the key ring is kept, and a secret deleted meanwhile fails the task clearly.</summary>
public sealed class SecretRestartTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string DataDirectory => _directory.Combine("data");

    public void Dispose() => _directory.Dispose();

    private static async Task PutAsync(SkiffTestServer server, string name, string value)
    {
        using var response = await server.Client.PutAsync($"/secrets/{name}",
            new StringContent(new JsonObject { ["value"] = value }.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Restart_SecretKeptOrDeletedWhileTasksWaited_KeptOneUsableDeletedOneFailsTheTaskNamingIt()
    {
        string keptTask, orphanTask;
        var kept = "kept-value-" + Guid.NewGuid().ToString("N");
        await using (var api = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: DataDirectory))
        {
            await PutAsync(api, "kept", kept);
            await PutAsync(api, "doomed", "doomed-value-" + Guid.NewGuid().ToString("N"));
            keptTask = await api.SubmitIdAsync(SecretTaskTests.PrintTask("kept", kept));
            orphanTask = await api.SubmitIdAsync(SecretTaskTests.PrintTask("doomed", "unused"));
            using var deleted = await api.Client.DeleteAsync("/secrets/doomed");
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 2, dataDirectory: DataDirectory);

        var ok = await server.WaitForEndAsync(keptTask);
        var orphan = await server.WaitForEndAsync(orphanTask);
        Assert.Equal("succeeded", SkiffTestServer.Status(ok));
        Assert.Contains("match", await server.Client.GetStringAsync($"/tasks/{keptTask}/logs"), StringComparison.Ordinal);
        Assert.Equal("failed", SkiffTestServer.Status(orphan));
        Assert.Contains("secret 'doomed' (for DB_PASSWORD) no longer exists", (string)orphan["error"]!, StringComparison.Ordinal);
        Assert.Contains("secret 'doomed'", await server.Client.GetStringAsync($"/tasks/{orphanTask}/logs"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_KeyFileLostButSecretsStored_ServerRefusesToStart()
    {
        await using (var first = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: DataDirectory))
        {
            await PutAsync(first, "db", "value-" + Guid.NewGuid().ToString("N"));
        }
        File.Delete(Path.Combine(DataDirectory, SecretKeyRing.FileName));

        var error = await Assert.ThrowsAsync<StartupException>(() => SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: DataDirectory));

        Assert.Contains(SecretKeyRing.FileName, error.Message, StringComparison.Ordinal);
        Assert.Contains("restore", error.Message, StringComparison.Ordinal);
    }
}
