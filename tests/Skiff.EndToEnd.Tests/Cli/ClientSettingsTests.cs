using Skiff.Cli;
using Skiff.Cli.Commands;
using Skiff.Server;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

public sealed class ClientSettingsTests
{
    private static readonly string WorkingDirectory = Path.Combine(Path.GetTempPath(), "skiff-cli-tests-cwd");

    private readonly Dictionary<string, string> _environment = [];
    private readonly Dictionary<string, string> _files = [];
    private readonly List<string> _filesRead = [];

    private ClientSettings Resolve(string? url = null, string? apiKey = null, string? data = null) =>
        ClientSettings.Resolve(
            url,
            apiKey,
            data,
            name => _environment.GetValueOrDefault(name),
            WorkingDirectory,
            path =>
            {
                _filesRead.Add(path);
                return _files.GetValueOrDefault(path);
            });

    [Fact]
    public void Resolve_NothingSet_UsesDefaultUrlAndTheAdminKeyUnderDotSkiff()
    {
        var keyFile = Path.Combine(WorkingDirectory, ".skiff", "admin.key");
        _files[keyFile] = "sk_admin_123\n";

        var settings = Resolve();

        Assert.Equal(new Uri(ServerOptions.DefaultUrl), settings.BaseUri);
        Assert.Equal("sk_admin_123", settings.ApiKey);
        Assert.Equal(keyFile, settings.KeyFilePath);
    }

    [Fact]
    public void Resolve_EnvironmentSet_BeatsDefaults()
    {
        _environment["SKIFF_URL"] = "http://10.0.0.5:9000";
        _environment["SKIFF_API_KEY"] = "from-env";
        _files[Path.Combine(WorkingDirectory, ".skiff", "admin.key")] = "from-file";

        var settings = Resolve();

        Assert.Equal(new Uri("http://10.0.0.5:9000"), settings.BaseUri);
        Assert.Equal("from-env", settings.ApiKey);
    }

    [Fact]
    public void Resolve_FlagsSet_BeatEnvironmentAndFile()
    {
        _environment["SKIFF_URL"] = "http://10.0.0.5:9000";
        _environment["SKIFF_API_KEY"] = "from-env";

        var settings = Resolve(url: "http://127.0.0.1:8123", apiKey: "from-flag");

        Assert.Equal(new Uri("http://127.0.0.1:8123"), settings.BaseUri);
        Assert.Equal("from-flag", settings.ApiKey);
    }

    [Fact]
    public void Resolve_DataFromEnvironment_ReadsTheKeyFromThatDirectory()
    {
        _environment["SKIFF_DATA"] = "/srv/skiff";
        _files["/srv/skiff/admin.key"] = "srv-key";

        var settings = Resolve();

        Assert.Equal("srv-key", settings.ApiKey);
        Assert.Equal("/srv/skiff/admin.key", settings.KeyFilePath);
    }

    [Fact]
    public void Resolve_DataFlag_BeatsDataEnvironment()
    {
        _environment["SKIFF_DATA"] = "/srv/skiff";

        var settings = Resolve(data: "mydata");

        Assert.Equal(Path.Combine(WorkingDirectory, "mydata", "admin.key"), settings.KeyFilePath);
        Assert.Equal([settings.KeyFilePath], _filesRead);
    }

    [Fact]
    public void Resolve_KeyGivenExplicitly_DoesNotReadTheKeyFile()
    {
        Resolve(apiKey: "k");

        Assert.Empty(_filesRead);
    }

    [Fact]
    public void Resolve_NoKeyAnywhere_LeavesTheKeyUnset()
    {
        var settings = Resolve();

        Assert.Null(settings.ApiKey);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:7070")]
    [InlineData("127.0.0.1:7070")]
    public void Resolve_InvalidUrl_ThrowsUsageError(string url)
    {
        var error = Assert.Throws<CliException>(() => Resolve(url: url));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:7070", "http://127.0.0.1:7070")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080")]
    [InlineData("http://*:8080", "http://127.0.0.1:8080")]
    [InlineData("http://+:8080", "http://127.0.0.1:8080")]
    [InlineData("http://[::]:8080", "http://127.0.0.1:8080")]
    [InlineData("http://localhost:5000;http://0.0.0.0:6000", "http://localhost:5000")]
    public void ClientUrlFromListenUrls_ListenAddress_GivesAnAddressAClientCanReach(string urls, string expected)
    {
        Assert.Equal(expected, ClientSettings.ClientUrlFromListenUrls(urls));
    }
}

public sealed class ServerOptionsTests
{
    private static CliEnvironment Environment(Dictionary<string, string> variables) => new()
    {
        Out = TextWriter.Null,
        Error = TextWriter.Null,
        GetEnvironmentVariable = name => variables.GetValueOrDefault(name),
        CurrentDirectory = "/home/me/project",
        SelfCommand = ["/usr/bin/dotnet", "/opt/skiff/skiff.dll"],
    };

    [Fact]
    public void BuildOptions_NothingSet_UsesDefaultsWithAnAbsoluteDataDirectory()
    {
        var options = ServerCommands.BuildOptions(null, null, null, null, Environment([]));

        Assert.Equal("/home/me/project/.skiff", options.DataDirectory);
        Assert.Equal(ServerOptions.DefaultUrl, options.Urls);
        Assert.Null(options.MaxWorkers);
        Assert.Equal("auto", options.Executor);
        Assert.Equal(["/usr/bin/dotnet", "/opt/skiff/skiff.dll"], options.SkiffCommand);
    }

    [Fact]
    public void BuildOptions_EnvironmentSet_BeatsDefaults()
    {
        var options = ServerCommands.BuildOptions(null, null, null, null, Environment(new() { ["SKIFF_DATA"] = "/var/lib/skiff", ["SKIFF_URLS"] = "http://0.0.0.0:80" }));

        Assert.Equal("/var/lib/skiff", options.DataDirectory);
        Assert.Equal("http://0.0.0.0:80", options.Urls);
    }

    [Fact]
    public void BuildOptions_FlagsSet_BeatEnvironment()
    {
        var options = ServerCommands.BuildOptions("d", "http://127.0.0.1:9", 4, "process", Environment(new() { ["SKIFF_DATA"] = "/x", ["SKIFF_URLS"] = "http://0.0.0.0:80" }));

        Assert.Equal("/home/me/project/d", options.DataDirectory);
        Assert.Equal("http://127.0.0.1:9", options.Urls);
        Assert.Equal(4, options.MaxWorkers);
        Assert.Equal("process", options.Executor);
    }

    [Fact]
    public void Parse_ServerFlags_AreReadIntoOptions()
    {
        var cli = new CliTestHost().Cli;
        var parseResult = cli.Parse(["server", "--data", "/tmp/d", "--urls", "http://127.0.0.1:1", "--max-workers", "3", "--executor", "process"]);

        var options = cli.Server.BuildOptions(parseResult);

        Assert.Equal(("/tmp/d", "http://127.0.0.1:1", 3, "process"), (options.DataDirectory, options.Urls, options.MaxWorkers, options.Executor));
    }

    [Fact]
    public void Parse_WarmPool_ReachesServerOptions()
    {
        var cli = new CliTestHost().Cli;
        var parseResult = cli.Parse(["server", "--warm-pool", "2"]);

        Assert.Empty(parseResult.Errors);
        Assert.Equal(2, cli.Server.BuildOptions(parseResult).WarmPool);
        Assert.Null(cli.Server.BuildOptions(cli.Parse(["server"])).WarmPool);
    }

    [Theory]
    [InlineData("--max-workers", "-1")]
    [InlineData("--executor", "docker")]
    [InlineData("--warm-pool", "-1")]
    [InlineData("--warm-pool", "17")]
    [InlineData("--warm-pool", "some")]
    public void Parse_BadServerFlag_IsAParseError(string option, string value)
    {
        var parseResult = new CliTestHost().Cli.Parse(["server", option, value]);

        Assert.NotEmpty(parseResult.Errors);
    }
}
