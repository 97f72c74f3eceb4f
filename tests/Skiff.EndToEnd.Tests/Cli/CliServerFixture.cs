using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary>
/// One real server shared by the CLI process tests, and a way to run <c>dotnet skiff.dll ...</c> against it with
/// SKIFF_URL and SKIFF_API_KEY set, from a directory without a <c>.skiff</c> data directory.
/// </summary>
public sealed class CliServerFixture : IAsyncLifetime, IDisposable
{
    public const string AdminKey = "sk_e2e_cli";

    /// <summary>--max-workers; the environment asks for 1 (Skiff__MaxWorkers) and must lose to the flag.</summary>
    public const int MaxWorkers = 4;

    private static readonly TimeSpan CommandDeadline = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _directory = new();
    private ServerProcess? _server;

    internal ServerProcess Server => _server ?? throw new InvalidOperationException("the server is not started");

    public string DataDirectory => _directory.Combine("data");

    /// <summary>Where the CLI runs: empty, so no admin key is found by accident.</summary>
    public string WorkingDirectory => _directory.Combine("cwd");

    public string Url => Server.BaseUri.AbsoluteUri.TrimEnd('/');

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkingDirectory);
        _server = await ServerProcess.StartAsync(new ServerLaunch(DataDirectory, _directory.Path, AdminKey)
        {
            MaxWorkers = MaxWorkers,
            Environment = new Dictionary<string, string?> { ["Skiff__MaxWorkers"] = "1" },
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public void Dispose() => _directory.Dispose();

    internal SkiffApi CreateApi() => Server.CreateApi();

    /// <summary>Runs the CLI with SKIFF_URL/SKIFF_API_KEY pointing at the server.</summary>
    internal Task<ProcessRun> RunAsync(params string[] arguments) => RunAsync(new Dictionary<string, string?>(), arguments);

    /// <summary>
    /// Runs the CLI; <paramref name="environment"/> overrides SKIFF_URL/SKIFF_API_KEY (null removes one). Whatever
    /// happens, a stack trace never reaches the user.
    /// </summary>
    internal async Task<ProcessRun> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var variables = new Dictionary<string, string?> { ["SKIFF_URL"] = Url, ["SKIFF_API_KEY"] = AdminKey };
        foreach (var (name, value) in environment)
        {
            variables[name] = value;
        }
        var run = await ProcessRun.RunAsync(SkiffProgram.SkiffStartInfo(arguments, WorkingDirectory, variables), CommandDeadline);
        Assert.False(run.Stderr.Contains("   at ", StringComparison.Ordinal), $"a stack trace reached stderr: {run}");
        return run;
    }
}
