using Microsoft.Extensions.Options;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Hosting;

/// <summary>Start-up problems a user can fix stop the server with a clear message and leave nothing held.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Start_DataDirectoryInUse_FailsWithClearMessageAndFirstServerUnaffected()
    {
        await using var first = await SkiffTestServer.StartAsync(maxWorkers: 0);

        var error = await Assert.ThrowsAsync<StartupException>(() => SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: first.DataDirectory));

        Assert.Contains("another Skiff server is already using the data directory", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFullPath(first.DataDirectory), error.Message, StringComparison.Ordinal);
        await first.AssertHealthyAsync();
        await first.SubmitIdAsync(TaskJson.Command("true"));
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("runc")]
    public async Task Start_RuncMissing_RefusesSayingHowToInstallOrOptOut(string executor)
    {
        using var temp = new TempDirectory();
        var data = temp.Combine("data");
        var settings = new Dictionary<string, string?> { ["Skiff:Executor"] = executor, ["Skiff:RuncPath"] = "/nonexistent/runc" };

        var error = await Assert.ThrowsAsync<StartupException>(() => SkiffTestServer.StartAsync(maxWorkers: 1, settings, data));

        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("runc not found at /nonexistent/runc", error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install runc busybox-static tini", error.Message, StringComparison.Ordinal);
        Assert.Contains("--executor process", error.Message, StringComparison.Ordinal);
        // Nothing held: the same directory serves at once with plain processes, and says so.
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: data);
        var health = await server.GetJsonAsync("/health");
        Assert.Equal("process (no isolation)", (string)health["executor"]!);
        Assert.False((bool)health["isolated"]!);
    }

    [Fact]
    public async Task Start_AutoWithRuncInstalled_IsolatesEveryTask()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?> { ["Skiff:Executor"] = "auto" });

        var health = await server.GetJsonAsync("/health");
        Assert.Equal("runc", (string)health["executor"]!);
        Assert.True((bool)health["isolated"]!);
    }

    [Theory]
    [InlineData("Skiff:LeaseCheckInterval", "00:00:00.001")]
    [InlineData("Skiff:MaxWorkers", "-1")]
    [InlineData("Skiff:Retention", "00:00:00")]
    [InlineData("Skiff:Executor", "docker")]
    public async Task Start_InvalidSetting_FailsNamingTheSettingAndReleasesTheDataDirectory(string key, string value)
    {
        using var temp = new TempDirectory();
        var data = temp.Combine("data");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            SkiffTestServer.StartAsync(maxWorkers: 1, new Dictionary<string, string?> { [key] = value }, data));

        Assert.Contains(key.Split(':')[1], string.Join("; ", error.Failures), StringComparison.Ordinal);
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: data);
        await server.AssertHealthyAsync();
    }
}
