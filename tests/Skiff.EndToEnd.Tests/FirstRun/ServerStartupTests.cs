using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.FirstRun;

/// <summary>A server that cannot start says why in one line and exits 1: no stack trace, not even in its log output.</summary>
public sealed class ServerStartupTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _directory = new();
    private ServerProcess? _running;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_running is not null)
        {
            await _running.DisposeAsync();
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Server_PortTaken_PrintsOneErrorLineWithoutAStackTraceAndExitsOne()
    {
        // Regression: the host's own "Hosting failed to start" log line carried the full stack trace.
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)occupant.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture)}";

        var run = await RunServerAsync(_directory.Combine("data"), url);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal([$"error: cannot listen on {url}: the address is already in use"], run.StderrLines);
        Assert.DoesNotContain("   at ", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_DataDirectoryInUse_PrintsOneErrorLineNamingItAndExitsOne()
    {
        var data = _directory.Combine("data");
        _running = await ServerProcess.StartAsync(new ServerLaunch(data, _directory.Path, "sk_e2e_startup"));

        var run = await RunServerAsync(data, $"http://127.0.0.1:{FreeTcpPort.Next().ToString(CultureInfo.InvariantCulture)}");

        Assert.True(run.ExitCode == 1, run.ToString());
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith($"error: another Skiff server is already using the data directory {data}", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stdout, StringComparison.Ordinal);
    }

    private Task<ProcessRun> RunServerAsync(string data, string url) =>
        ProcessRun.RunAsync(
            SkiffProgram.SkiffStartInfo(["server", "--data", data, "--urls", url], _directory.Path, new Dictionary<string, string?> { ["SKIFF_ADMIN_KEY"] = "sk_e2e_startup" }),
            TimeSpan.FromSeconds(60));
}
