using System.CommandLine;
using Skiff.Server;

namespace Skiff.Cli.Commands;

/// <summary><c>skiff server</c>: runs the API, scheduler and embedded worker in this process until stopped.</summary>
internal sealed class ServerCommands
{
    public const string ProcessExecutor = SkiffServer.ProcessExecutorName;
    public const string AutoExecutor = "auto";

    private readonly CliEnvironment _environment;

    public ServerCommands(CliEnvironment environment)
    {
        _environment = environment;
        MaxWorkers.Validators.Add(result => OptionValidators.AtLeast(result, "--max-workers", 0));
        WarmPool.Validators.Add(result => OptionValidators.Between(result, "--warm-pool", 0, 16));
        Executor.AcceptOnlyFromAmong(AutoExecutor, ProcessExecutor, "runc");

        Command = new Command("server", "Run the Skiff server (API, scheduler and worker) in the foreground") { Data, Urls, MaxWorkers, Executor, WarmPool, TlsCert, TlsKey, CorsOrigin };
        Command.SetAction((parseResult, cancellationToken) => SkiffServer.RunAsync(BuildOptions(parseResult), cancellationToken));
    }

    public Command Command { get; }

    public Option<string?> Data { get; } = new("--data")
    {
        Description = $"Data directory (env {ClientSettings.DataVariable}; default {ClientSettings.DefaultDataDirectory})",
        HelpName = "DIR",
    };

    public Option<string?> Urls { get; } = new("--urls")
    {
        Description = $"Where to listen (env {ClientSettings.UrlsVariable}; default {ServerOptions.DefaultUrl})",
        HelpName = "URL",
    };

    public Option<int?> MaxWorkers { get; } = new("--max-workers") { Description = "Most tasks running at once (default: number of cores; 0: an API-only server that runs no tasks)", HelpName = "N" };

    public Option<string?> Executor { get; } = new("--executor") { Description = "auto or runc (default: every task in its own runc container; needs root and runc), or process (plain processes, NO isolation: development only)", HelpName = "auto|runc|process" };

    public Option<int?> WarmPool { get; } = new("--warm-pool")
    {
        Description = "Containers kept started ahead per task shape, so tasks start in a few ms instead of ~45 (0-16, default 0; a pooled container's hostname is not the task id)",
        HelpName = "N",
    };

    public Option<string?> TlsCert { get; } = new("--tls-cert")
    {
        Description = "Serve HTTPS with this PEM certificate (leaf first, then intermediates); needs --tls-key and https:// --urls",
        HelpName = "FILE",
    };

    public Option<string?> TlsKey { get; } = new("--tls-key") { Description = "The PEM private key of --tls-cert", HelpName = "FILE" };

    public Option<string[]> CorsOrigin { get; } = new("--cors-origin")
    {
        Description = "A browser origin allowed to call the API, e.g. https://dashboard.example.com (repeatable; default: none)",
        HelpName = "ORIGIN",
    };

    public ServerOptions BuildOptions(ParseResult parseResult) => BuildOptions(
        parseResult.GetValue(Data),
        parseResult.GetValue(Urls),
        parseResult.GetValue(MaxWorkers),
        parseResult.GetValue(Executor),
        _environment) with
    {
        TlsCertificateFile = NonEmpty(parseResult.GetValue(TlsCert)) is { } certificate ? _environment.FullPath(certificate) : null,
        TlsKeyFile = NonEmpty(parseResult.GetValue(TlsKey)) is { } key ? _environment.FullPath(key) : null,
        CorsOrigins = parseResult.GetValue(CorsOrigin) ?? [],
        WarmPool = parseResult.GetValue(WarmPool),
    };

    /// <summary>Flags first, then SKIFF_DATA / SKIFF_URLS, then the defaults. The data directory is made absolute.</summary>
    public static ServerOptions BuildOptions(string? data, string? urls, int? maxWorkers, string? executor, CliEnvironment environment) => new()
    {
        DataDirectory = environment.FullPath(NonEmpty(data) ?? environment.Variable(ClientSettings.DataVariable) ?? ClientSettings.DefaultDataDirectory),
        Urls = NonEmpty(urls) ?? environment.Variable(ClientSettings.UrlsVariable) ?? ServerOptions.DefaultUrl,
        MaxWorkers = maxWorkers,
        Executor = NonEmpty(executor) ?? AutoExecutor,
        SkiffCommand = environment.SelfCommand,
    };

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
