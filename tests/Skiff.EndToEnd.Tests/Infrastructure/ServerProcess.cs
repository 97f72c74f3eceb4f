using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Skiff.Testing;

namespace Skiff.EndToEnd.Tests.Infrastructure;

/// <summary>How to start a server: its data directory, key and the settings a test needs.</summary>
internal sealed record ServerLaunch(string DataDirectory, string WorkingDirectory, string AdminKey)
{
    public int? MaxWorkers { get; init; }

    /// <summary>
    /// Plain processes (today's default, "auto", means the same): the tests find and clean up what a killed server
    /// leaves running by the processes' working directories, which only works for plain processes.
    /// </summary>
    public string Executor { get; init; } = "process";

    /// <summary>The port to listen on (a restart reuses the old one); a free port is picked when null or taken.</summary>
    public int? PreferredPort { get; init; }

    /// <summary>Extra environment variables, e.g. <c>Skiff__ShutdownGrace</c>.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// A real <c>skiff server</c> process on a loopback port. Disposing it kills it if it still runs, then kills
/// whatever task processes it left behind (see <see cref="TaskProcesses"/>), so a failing test cleans up too.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();

    private ServerProcess(Process process, ServerLaunch launch, int port)
    {
        _process = process;
        Launch = launch;
        Port = port;
        BaseUri = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
    }

    public ServerLaunch Launch { get; }

    public int Port { get; }

    public Uri BaseUri { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>What the server printed so far (its log), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a server and waits until GET /health answers 200; retries on another port when the port is taken.</summary>
    public static async Task<ServerProcess> StartAsync(ServerLaunch launch)
    {
        var port = launch.PreferredPort ?? FreeTcpPort.Next();
        for (var attempt = 1; ; attempt++)
        {
            var server = Start(launch, port);
            try
            {
                await server.WaitUntilHealthyAsync();
                return server;
            }
            catch (Exception) when (server.HasExited && attempt < 3 && server.Output.Contains("already in use", StringComparison.OrdinalIgnoreCase))
            {
                await server.DisposeAsync();
                port = FreeTcpPort.Next();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public SkiffApi CreateApi() => new(BaseUri, Launch.AdminKey);

    /// <summary>kill -9: the process ends at once, in the middle of whatever it does.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Sends SIGTERM (graceful shutdown) without waiting.</summary>
    public Task TerminateAsync() => TaskProcesses.TerminateAsync(Pid);

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"server pid {Pid} did not exit within {timeout.TotalSeconds:0} s; output:\n{Output}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // Best effort: the test is already ending.
        }
        finally
        {
            TaskProcesses.KillUnder(Path.Combine(Launch.DataDirectory, "tasks"));
            _process.Dispose();
        }
    }

    private static ServerProcess Start(ServerLaunch launch, int port)
    {
        var arguments = new List<string>
        {
            "server", "--data", launch.DataDirectory, "--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "--executor", launch.Executor,
        };
        if (launch.MaxWorkers is { } maxWorkers)
        {
            arguments.AddRange(["--max-workers", maxWorkers.ToString(CultureInfo.InvariantCulture)]);
        }
        var environment = new Dictionary<string, string?>(launch.Environment) { ["SKIFF_ADMIN_KEY"] = launch.AdminKey };
        var process = new Process { StartInfo = SkiffProgram.SkiffStartInfo(arguments, launch.WorkingDirectory, environment) };
        var server = new ServerProcess(process, launch, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_outputLock)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitUntilHealthyAsync()
    {
        var healthy = await Eventually.UntilAsync(
            async () => HasExited ? (bool?)false : await IsHealthyAsync(),
            state => state is not null,
            StartDeadline,
            $"the server at {BaseUri} to answer GET /health",
            state => $"{state}; output:\n{Output}");
        if (healthy is false)
        {
            throw new InvalidOperationException($"the server exited during start-up with code {_process.ExitCode}; output:\n{Output}");
        }
    }

    /// <summary>true: healthy; null: not answering yet.</summary>
    private async Task<bool?> IsHealthyAsync()
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri(BaseUri, "health"));
            return response.StatusCode == HttpStatusCode.OK ? true : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}
