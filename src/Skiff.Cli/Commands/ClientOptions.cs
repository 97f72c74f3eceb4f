using System.CommandLine;
using Skiff.Cli.Client;
using Skiff.Server;

namespace Skiff.Cli.Commands;

/// <summary>Where the server is and which key to use; shared by every verb that talks to the API.</summary>
internal sealed record ClientSettings(Uri BaseUri, string? ApiKey, string KeyFilePath)
{
    public const string UrlVariable = "SKIFF_URL";
    public const string ApiKeyVariable = "SKIFF_API_KEY";
    public const string DataVariable = "SKIFF_DATA";
    public const string UrlsVariable = "SKIFF_URLS";
    public const string DefaultDataDirectory = ".skiff";
    public const string AdminKeyFileName = "admin.key";

    /// <summary>
    /// Each setting comes from its flag, then its environment variable, then the default. The default key is
    /// the admin key the server writes into its data directory, so a local server needs no configuration.
    /// </summary>
    public static ClientSettings Resolve(
        string? urlFlag,
        string? apiKeyFlag,
        string? dataFlag,
        Func<string, string?> getEnvironmentVariable,
        string currentDirectory,
        Func<string, string?> readFile)
    {
        string? Env(string name) => getEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

        var url = NonEmpty(urlFlag) ?? Env(UrlVariable) ?? ServerOptions.DefaultUrl;
        var dataDirectory = NonEmpty(dataFlag) ?? Env(DataVariable) ?? DefaultDataDirectory;
        var keyFile = Path.GetFullPath(Path.Combine(dataDirectory, AdminKeyFileName), currentDirectory);
        var apiKey = NonEmpty(apiKeyFlag) ?? Env(ApiKeyVariable) ?? NonEmpty(readFile(keyFile)?.Trim());
        return new ClientSettings(ParseUrl(url), apiKey, keyFile);
    }

    /// <summary>Reads the key file, or null when it is missing or unreadable (the server then answers 401).</summary>
    public static string? TryReadFile(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static Uri ParseUrl(string url)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw CliException.Usage($"invalid URL '{url}': expected something like {ServerOptions.DefaultUrl}");
        }
        return uri;
    }

    /// <summary>
    /// The URL a client on this machine uses to reach a server listening on <paramref name="urls"/>
    /// (ASP.NET Core syntax: ';'-separated, wildcard hosts): the first URL, wildcards replaced by 127.0.0.1.
    /// </summary>
    public static string ClientUrlFromListenUrls(string urls)
    {
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
            ?? ServerOptions.DefaultUrl;
        var schemeEnd = first.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return first;
        }

        var hostStart = schemeEnd + 3;
        var rest = first[hostStart..];
        foreach (var wildcard in (string[])["*", "+", "0.0.0.0", "[::]"])
        {
            if (rest.StartsWith(wildcard + ":", StringComparison.Ordinal) || rest == wildcard || rest.StartsWith(wildcard + "/", StringComparison.Ordinal))
            {
                return string.Concat(first.AsSpan(0, hostStart), "127.0.0.1", rest.AsSpan(wildcard.Length));
            }
        }
        return first;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

/// <summary>The <c>--url</c>, <c>--api-key</c> and <c>--data</c> options every client verb accepts.</summary>
internal sealed class ClientOptions
{
    public Option<string?> Url { get; } = new("--url")
    {
        Description = $"Skiff server URL (env {ClientSettings.UrlVariable}; default {ServerOptions.DefaultUrl})",
        HelpName = "URL",
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = $"API key (env {ClientSettings.ApiKeyVariable}; default: the key in <data>/{ClientSettings.AdminKeyFileName})",
        HelpName = "KEY",
    };

    public Option<string?> Data { get; } = new("--data")
    {
        Description = $"Data directory holding {ClientSettings.AdminKeyFileName} (env {ClientSettings.DataVariable}; default {ClientSettings.DefaultDataDirectory})",
        HelpName = "DIR",
    };

    public void AddTo(Command command)
    {
        command.Add(Url);
        command.Add(ApiKey);
        command.Add(Data);
    }

    public ClientSettings Resolve(ParseResult parseResult, CliEnvironment environment) =>
        ClientSettings.Resolve(
            parseResult.GetValue(Url),
            parseResult.GetValue(ApiKey),
            parseResult.GetValue(Data),
            environment.GetEnvironmentVariable,
            environment.CurrentDirectory,
            ClientSettings.TryReadFile);

    public SkiffClient CreateClient(ParseResult parseResult, CliEnvironment environment) =>
        new(Resolve(parseResult, environment), environment.HttpHandler);
}
