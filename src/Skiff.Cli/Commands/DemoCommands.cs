using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Skiff.Cli.Client;
using Skiff.Core.Tasks;
using Skiff.Server;
using Spectre.Console;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff demo</c>, the first-run command: makes sure a server answers (starting <c>skiff server</c> in the
/// background if none does), runs one small task to the end and says how to go on.
/// </summary>
internal sealed class DemoCommands
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan KeyFileWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Starts the server detached: its own session (setsid), so the terminal's Ctrl+C and hang-up do not reach
    /// it, with stdout and stderr in the log file. Prints the server's pid.
    /// </summary>
    private const string DetachScript =
        """
        log=$1; shift
        if command -v setsid >/dev/null 2>&1; then
          setsid "$@" </dev/null >"$log" 2>&1 &
        else
          nohup "$@" </dev/null >"$log" 2>&1 &
        fi
        echo $!
        """;

    private readonly CliEnvironment _environment;

    public DemoCommands(CliEnvironment environment)
    {
        _environment = environment;
        Command = new Command("demo", "First run: start a local server if none is running, run a demo task, show what to try next")
        {
            Data, Urls, ApiKey, Executor,
        };
        Executor.AcceptOnlyFromAmong(ServerCommands.AutoExecutor, ServerCommands.ProcessExecutor, "runc");
        Command.SetAction(RunAsync);
    }

    public Command Command { get; }

    public Option<string?> Data { get; } = new("--data")
    {
        Description = $"Data directory of the server (env {ClientSettings.DataVariable}; default {ClientSettings.DefaultDataDirectory})",
        HelpName = "DIR",
    };

    public Option<string?> Urls { get; } = new("--urls")
    {
        Description = $"Where the server listens (env {ClientSettings.UrlsVariable}; default {ServerOptions.DefaultUrl})",
        HelpName = "URL",
    };

    public Option<string?> Executor { get; } = new("--executor")
    {
        Description = "How the started server runs tasks: auto (runc containers; needs root and runc) or process (plain processes, NO isolation)",
        HelpName = "auto|runc|process",
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = $"API key (env {ClientSettings.ApiKeyVariable}; default: the key in <data>/{ClientSettings.AdminKeyFileName})",
        HelpName = "KEY",
    };

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var server = ServerCommands.BuildOptions(parseResult.GetValue(Data), parseResult.GetValue(Urls), null, parseResult.GetValue(Executor), _environment);
        var clientUrl = ClientSettings.ClientUrlFromListenUrls(server.Urls);
        var baseUri = ClientSettings.ParseUrl(clientUrl);
        var logPath = Path.Combine(server.DataDirectory, "server.log");
        var pidPath = Path.Combine(server.DataDirectory, "server.pid");
        var keyPath = Path.Combine(server.DataDirectory, ClientSettings.AdminKeyFileName);

        int? pid;
        using (var probe = new SkiffClient(new ClientSettings(baseUri, null, keyPath), _environment.HttpHandler))
        {
            var health = await probe.TryGetHealthAsync(ProbeTimeout, cancellationToken);
            pid = ReadLivePid(pidPath);
            if (health is null && pid is null)
            {
                pid = await StartServerAsync(server, logPath, pidPath, cancellationToken);
                _environment.Error.WriteLine($"Started the Skiff server (pid {pid}) at {clientUrl}; logs: {Display(logPath)}");
            }
            else if (health is null)
            {
                _environment.Error.WriteLine($"A Skiff server (pid {pid}) is starting at {clientUrl}");
            }
            else if (health is { Status: HttpStatusCode.NotFound } || (health is { Status: HttpStatusCode.OK } && health.Value.Report?.Status is null))
            {
                // Waiting would not help: the port belongs to another program.
                throw new CliException($"something other than Skiff answers at {clientUrl} (GET /health: {(int)health.Value.Status}); choose another address with --urls");
            }
            else
            {
                _environment.Error.WriteLine($"Using the Skiff server at {clientUrl}");
            }

            if (health is not { Status: HttpStatusCode.OK })
            {
                health = await WaitForHealthAsync(probe, pid, logPath, cancellationToken);
            }

            if (health?.Report is { } report)
            {
                _environment.Error.WriteLine($"Skiff is {report.Status ?? "up"}: executor {report.Executor ?? "?"}, max workers {report.Workers?.Max?.ToString(CultureInfo.InvariantCulture) ?? "?"}");
            }
        }

        var apiKey = parseResult.GetValue(ApiKey) ?? _environment.Variable(ClientSettings.ApiKeyVariable) ?? await WaitForKeyFileAsync(keyPath, cancellationToken);
        using var client = new SkiffClient(new ClientSettings(baseUri, apiKey, keyPath), _environment.HttpHandler);
        var request = new SubmitTaskRequest
        {
            Type = WorkloadTypes.CpuIntensive,
            Parameters = new Dictionary<string, string> { ["seconds"] = "1" },
        };
        var task = await client.SubmitAsync(request, idempotencyKey: null, cancellationToken);
        _environment.Error.WriteLine($"Submitted demo task {task.TaskId} ({TaskOutput.Describe(task)})");
        var exitCode = await new TaskWaiter(client, _environment).WaitAndReportAsync(task, cancellationToken);

        // SKIFF_DATA, unlike --data, also applies to the commands the user runs next.
        WriteNextSteps(clientUrl, server.DataDirectory, !string.IsNullOrWhiteSpace(parseResult.GetValue(Data)), pid, logPath);
        return exitCode;
    }

    private void WriteNextSteps(string clientUrl, string dataDirectory, bool customData, int? pid, string logPath)
    {
        // The suggested commands must work as typed: name the URL and data directory when they are not the defaults.
        var flags = (clientUrl == ServerOptions.DefaultUrl ? "" : $" --url {clientUrl}") + (customData ? $" --data {Display(dataDirectory)}" : "");
        var output = _environment.Out;
        output.WriteLine();
        output.WriteLine(pid is { } id
            ? $"Skiff is running at {clientUrl} (pid {id}, logs: {Display(logPath)})."
            : $"Skiff is running at {clientUrl}.");
        output.WriteLine("Try:");
        output.WriteLine($"  ./skiff submit{flags} -- echo hello");
        output.WriteLine($"  ./skiff submit{flags} --type cpu-intensive --param seconds=3 --wait");
        output.WriteLine($"  ./skiff list{flags}");
        if (pid is { } stop)
        {
            output.WriteLine($"Stop: kill {stop}");
        }
    }

    private async Task<int> StartServerAsync(ServerOptions server, string logPath, string pidPath, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new CliException("skiff demo starts the server in the background on Linux and macOS only; run 'skiff server' in another window, then 'skiff submit --type cpu-intensive --param seconds=1 --wait'");
        }

        try
        {
            Directory.CreateDirectory(server.DataDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot create the data directory {server.DataDirectory}: {e.Message}", e);
        }

        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _environment.CurrentDirectory,
        };
        foreach (var argument in (string[])["-c", DetachScript, "skiff-demo", logPath, .. _environment.SelfCommand, "server", "--data", server.DataDirectory, "--urls", server.Urls, "--executor", server.Executor])
        {
            start.ArgumentList.Add(argument);
        }

        using var shell = Process.Start(start) ?? throw new CliException("could not start /bin/sh to launch the server");
        var stdout = shell.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = shell.StandardError.ReadToEndAsync(cancellationToken);
        await shell.WaitForExitAsync(cancellationToken);
        if (shell.ExitCode != 0 || !int.TryParse((await stdout).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            throw new CliException($"could not start the server in the background: {(await stderr).Trim()}");
        }

        await File.WriteAllTextAsync(pidPath, pid.ToString(CultureInfo.InvariantCulture) + "\n", cancellationToken);
        return pid;
    }

    /// <summary>Polls /health until it answers 200, the server process dies, or the start-up deadline passes.</summary>
    private async Task<(HttpStatusCode Status, HealthDocument? Report)?> WaitForHealthAsync(SkiffClient probe, int? pid, string logPath, CancellationToken cancellationToken)
    {
        var started = _environment.Time.GetTimestamp();
        async Task<(HttpStatusCode, HealthDocument?)?> Poll(Action<TimeSpan> progress)
        {
            while (true)
            {
                var health = await probe.TryGetHealthAsync(ProbeTimeout, cancellationToken);
                if (health is { Status: HttpStatusCode.OK })
                {
                    return health;
                }
                if (pid is { } id && !IsAlive(id))
                {
                    throw new CliException($"the Skiff server exited during start-up{LastError(logPath)} (logs: {Display(logPath)})");
                }
                var elapsed = _environment.Time.GetElapsedTime(started);
                if (elapsed >= StartDeadline)
                {
                    var answer = health is { } h ? $"/health answers {(int)h.Status}" : "nothing answers";
                    throw new CliException($"Skiff did not become healthy at {probe.DisplayUrl} within {StartDeadline.TotalSeconds:0} s: {answer} (logs: {Display(logPath)})");
                }
                progress(elapsed);
                await Task.Delay(ProbeInterval, _environment.Time, cancellationToken);
            }
        }

        if (!_environment.IsErrorTerminal)
        {
            _environment.Error.WriteLine($"Waiting for Skiff at {probe.DisplayUrl} (up to {StartDeadline.TotalSeconds:0} s)...");
            return await Poll(_ => { });
        }

        var text = $"Waiting for Skiff at {probe.DisplayUrl}";
        return await _environment.CreateErrorConsole().Status()
            .Spinner(Spinner.Known.Dots)
            .StartAsync(Markup.Escape(text), context => Poll(elapsed =>
                context.Status(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{text} ({elapsed.TotalSeconds:0} s of {StartDeadline.TotalSeconds:0})")))));
    }

    /// <summary>The server writes its admin key at start; give it a moment if /health answered first.</summary>
    private async Task<string?> WaitForKeyFileAsync(string keyPath, CancellationToken cancellationToken)
    {
        var started = _environment.Time.GetTimestamp();
        while (true)
        {
            if (ClientSettings.TryReadFile(keyPath)?.Trim() is { Length: > 0 } key)
            {
                return key;
            }
            if (_environment.Time.GetElapsedTime(started) >= KeyFileWait)
            {
                return null;
            }
            await Task.Delay(ProbeInterval, _environment.Time, cancellationToken);
        }
    }

    /// <summary>The pid in the pid file when that process still runs and looks like skiff (not a recycled pid).</summary>
    private static int? ReadLivePid(string pidPath)
    {
        if (!int.TryParse(ClientSettings.TryReadFile(pidPath)?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || !IsAlive(pid))
        {
            return null;
        }

        var cmdline = ClientSettings.TryReadFile($"/proc/{pid}/cmdline");
        return cmdline is null || cmdline.Contains("skiff", StringComparison.OrdinalIgnoreCase) ? pid : null;
    }

    private static bool IsAlive(int pid)
    {
        // /proc shows zombies too (a reparented child nobody reaped yet): those have exited.
        if (Directory.Exists("/proc/self"))
        {
            var stat = ClientSettings.TryReadFile($"/proc/{pid}/stat");
            if (stat is null)
            {
                return false;
            }
            var afterName = stat.LastIndexOf(')');
            return afterName < 0 || afterName + 2 >= stat.Length || stat[afterName + 2] is not ('Z' or 'X');
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The server's own last "error:" line (what <c>skiff server</c> prints when it fails), if any.</summary>
    private static string LastError(string logPath)
    {
        var lines = ClientSettings.TryReadFile(logPath)?.Split('\n') ?? [];
        var error = lines.LastOrDefault(l => l.StartsWith("error: ", StringComparison.Ordinal))?.Trim();
        return error is null ? "" : $": {error["error: ".Length..]}";
    }

    private string Display(string path)
    {
        var relative = Path.GetRelativePath(_environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }
}
