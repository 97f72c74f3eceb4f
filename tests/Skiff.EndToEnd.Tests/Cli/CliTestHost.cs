using System.Net;
using System.Text;
using Skiff.Cli;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary>Runs the CLI in-process against writers, a fixed environment and (optionally) a fake API.</summary>
internal sealed class CliTestHost
{
    public CliTestHost(FakeApi? api = null, IReadOnlyDictionary<string, string>? environmentVariables = null, string? currentDirectory = null)
    {
        var variables = environmentVariables ?? new Dictionary<string, string>();
        Environment = new CliEnvironment
        {
            Out = Out,
            Error = Error,
            GetEnvironmentVariable = name => variables.TryGetValue(name, out var value) ? value : null,
            CurrentDirectory = currentDirectory ?? Path.GetTempPath(),
            HttpHandler = api,
            SelfCommand = ["skiff"],
        };
        Cli = new SkiffCli(Environment);
    }

    public StringWriter Out { get; } = new();

    public StringWriter Error { get; } = new();

    public CliEnvironment Environment { get; }

    public SkiffCli Cli { get; }

    public Task<int> RunAsync(params string[] args) => Cli.RunAsync(args, CancellationToken.None);

    public IReadOnlyList<string> ErrorLines => Lines(Error.ToString());

    public IReadOnlyList<string> OutLines => Lines(Out.ToString());

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
}

/// <summary>A scripted Skiff API: answers each request with the first matching route and records what it got.</summary>
internal sealed class FakeApi : HttpMessageHandler
{
    private readonly List<(HttpMethod Method, string PathAndQuery, Func<RecordedRequest, HttpResponseMessage> Respond)> _routes = [];

    public List<RecordedRequest> Requests { get; } = [];

    public FakeApi On(HttpMethod method, string pathAndQuery, Func<RecordedRequest, HttpResponseMessage> respond)
    {
        _routes.Add((method, pathAndQuery, respond));
        return this;
    }

    public FakeApi On(HttpMethod method, string pathAndQuery, HttpStatusCode status, string json, string contentType = "application/json") =>
        On(method, pathAndQuery, _ => Json(status, json, contentType));

    public static HttpResponseMessage Json(HttpStatusCode status, string json, string contentType = "application/json") =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, contentType) };

    public static HttpResponseMessage Problem(HttpStatusCode status, string title, string? detail = null) =>
        Json(status, $$"""{"type":"about:blank","title":"{{title}}","status":{{(int)status}}{{(detail is null ? "" : $",\"detail\":\"{detail}\"")}}}""", "application/problem+json");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var recorded = new RecordedRequest(
            request.Method,
            request.RequestUri!.PathAndQuery,
            request.Headers.Authorization?.ToString(),
            request.Headers.TryGetValues("Idempotency-Key", out var keys) ? keys.Single() : null,
            body);
        Requests.Add(recorded);
        foreach (var route in _routes)
        {
            if (route.Method == request.Method && route.PathAndQuery == recorded.PathAndQuery)
            {
                return route.Respond(recorded);
            }
        }
        return Problem(HttpStatusCode.NotFound, "Not Found", $"no fake route for {request.Method} {recorded.PathAndQuery}");
    }
}

internal sealed record RecordedRequest(HttpMethod Method, string PathAndQuery, string? Authorization, string? IdempotencyKey, string? Body);
