using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Infrastructure;

/// <summary>
/// A real Skiff server: Kestrel on a loopback port chosen by the OS, SQLite in its own data directory, the
/// process executor, and built-in workloads run through the real skiff.dll that the build copies next to
/// these tests. <see cref="Client"/> holds the admin key, <see cref="Anonymous"/> none.
/// </summary>
public sealed class SkiffTestServer : IAsyncDisposable
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    /// <summary>Tasks here take milliseconds: poll often so a test waits little past the change it awaits.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    private readonly WebApplication _app;
    private readonly TempDirectory? _ownedData;
    private bool _stopped;

    private SkiffTestServer(WebApplication app, string dataDirectory, TempDirectory? ownedData)
    {
        _app = app;
        _ownedData = ownedData;
        DataDirectory = dataDirectory;
        BaseAddress = new Uri(SkiffServer.BoundAddresses(app).Single());
        AdminKey = ReadAdminKey(dataDirectory);
        // A request that says Expect: 100-continue waits for the server's word before its body (see PostOversizedAsync).
        var handler = new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(60) };
        Client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        Anonymous = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public string DataDirectory { get; }

    public Uri BaseAddress { get; }

    public string AdminKey { get; }

    /// <summary>Authenticated as the admin.</summary>
    public HttpClient Client { get; }

    /// <summary>Sends no Authorization header.</summary>
    public HttpClient Anonymous { get; }

    /// <summary>The running server's services (its endpoints, store and options), for tests that look inside.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The argv prefix that runs the skiff CLI built alongside these tests.</summary>
    public static IReadOnlyList<string> SkiffCommand
    {
        get
        {
            // The dotnet host running these tests; "dotnet" from PATH when the test host is an apphost.
            var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
            return [host, SkiffDll];
        }
    }

    public static string SkiffDll => Path.Combine(AppContext.BaseDirectory, "skiff.dll");

    /// <summary>
    /// Starts a server. <paramref name="settings"/> override "Skiff:*" (and any other) configuration keys on top
    /// of test defaults: fast retries and a short shutdown grace. Without <paramref name="dataDirectory"/> the
    /// server gets a fresh one, deleted on dispose; a given one is kept (restart tests reuse it).
    /// </summary>
    public static async Task<SkiffTestServer> StartAsync(int maxWorkers, IDictionary<string, string?>? settings = null, string? dataDirectory = null)
    {
        if (!File.Exists(SkiffDll) || !File.Exists(Path.ChangeExtension(SkiffDll, ".runtimeconfig.json")))
        {
            throw new InvalidOperationException($"skiff.dll or skiff.runtimeconfig.json missing in {AppContext.BaseDirectory}: the test project must reference Skiff.Cli");
        }
        var owned = dataDirectory is null ? new TempDirectory() : null;
        var data = dataDirectory ?? owned!.Combine("data");
        var configuration = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["Skiff:RetryBaseDelay"] = "00:00:00.050",
            ["Skiff:RetryMaxDelay"] = "00:00:00.200",
            ["Skiff:ShutdownGrace"] = "00:00:00.500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }
        var options = new ServerOptions
        {
            DataDirectory = data,
            Urls = "http://127.0.0.1:0",
            MaxWorkers = maxWorkers,
            Executor = "process",
            SkiffCommand = SkiffCommand,
        };
        try
        {
            using var timeout = new CancellationTokenSource(DefaultWait);
            var app = await SkiffServer.StartAsync(options, configuration, timeout.Token);
            return new SkiffTestServer(app, data, owned);
        }
        catch
        {
            owned?.Dispose();
            throw;
        }
    }

    /// <summary>Gracefully stops the server (as on SIGTERM) and releases the data directory, which is kept.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        Client.Dispose();
        Anonymous.Dispose();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await _app.StopAsync(timeout.Token);
        }
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _ownedData?.Dispose();
    }

    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json, string? idempotencyKey = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return await (client ?? Client).SendAsync(request);
    }

    /// <summary>
    /// Posts a body the server refuses by its declared length. Sent with Expect: 100-continue, so the client
    /// holds the body until the server answers: without it the client may still be writing when the server
    /// answers 413 and closes, and the test sees a broken pipe instead of the answer.
    /// </summary>
    public async Task<HttpResponseMessage> PostOversizedAsync(string path, HttpContent content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.ExpectContinue = true;
        return await Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostAsync(string path, HttpClient? client = null) =>
        (client ?? Client).PostAsync(path, content: null);

    /// <summary>Submits a task, asserting 201, and returns its document.</summary>
    public async Task<JsonObject> SubmitAsync(JsonObject body, string? idempotencyKey = null)
    {
        using var response = await PostJsonAsync("/tasks", body.ToJsonString(), idempotencyKey);
        var document = await ReadJsonAsync(response, HttpStatusCode.Created);
        Assert.Equal($"/tasks/{document["taskId"]}", response.Headers.Location?.OriginalString);
        return document;
    }

    /// <summary>Submits a task and returns its id.</summary>
    public async Task<string> SubmitIdAsync(JsonObject body) => (string)(await SubmitAsync(body))["taskId"]!;

    public async Task<JsonObject> GetTaskAsync(string taskId)
    {
        using var response = await Client.GetAsync($"/tasks/{taskId}");
        return await ReadJsonAsync(response, HttpStatusCode.OK);
    }

    public async Task<JsonObject> GetJsonAsync(string pathAndQuery, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Client.GetAsync(pathAndQuery);
        return await ReadJsonAsync(response, expected);
    }

    public Task<JsonObject> WaitForTaskAsync(string taskId, Func<JsonObject, bool> until, string what, TimeSpan? timeout = null) =>
        Eventually.UntilAsync(() => GetTaskAsync(taskId), until, timeout ?? DefaultWait, $"task {taskId}: {what}",
            static t => t.ToJsonString(), PollInterval);

    public Task<JsonObject> WaitForStatusAsync(string taskId, string status, TimeSpan? timeout = null) =>
        WaitForTaskAsync(taskId, t => Status(t) == status, "status " + status, timeout);

    public Task<JsonObject> WaitForEndAsync(string taskId, TimeSpan? timeout = null) =>
        WaitForTaskAsync(taskId, t => Status(t) is "succeeded" or "failed" or "timed_out" or "cancelled", "a terminal status", timeout);

    /// <summary>Waits until the task's log contains <paramref name="text"/>; returns the log.</summary>
    public Task<string> WaitForLogAsync(string taskId, string text) =>
        Eventually.UntilAsync(() => Client.GetStringAsync($"/tasks/{taskId}/logs"), log => log.Contains(text, StringComparison.Ordinal),
            DefaultWait, $"'{text}' in the log of {taskId}", interval: PollInterval);

    /// <summary>Every task the admin can see, newest first, following the cursor.</summary>
    public async Task<List<string>> ListAllTaskIdsAsync(string filter = "")
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await GetJsonAsync($"/tasks?limit=500{filter}{(cursor is null ? "" : "&cursor=" + cursor)}");
            ids.AddRange(page["items"]!.AsArray().Select(t => (string)t!["taskId"]!));
            cursor = (string?)page["nextCursor"];
        }
        while (cursor is not null);
        return ids;
    }

    public async Task<int> CountTasksAsync() => (await ListAllTaskIdsAsync()).Count;

    /// <summary>/health answers 200 and is not unhealthy.</summary>
    public async Task AssertHealthyAsync()
    {
        using var response = await Anonymous.GetAsync("/health");
        var health = await ReadJsonAsync(response, HttpStatusCode.OK);
        // "degraded" only says one store round trip took over 250 ms, which a busy 2-core test machine can cause.
        Assert.Contains((string)health["status"]!, new[] { "healthy", "degraded" });
    }

    public static string Status(JsonNode task) => (string)task["status"]!;

    public static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!.AsObject();
    }

    private static string ReadAdminKey(string dataDirectory)
    {
        // The server registers SKIFF_ADMIN_KEY instead of writing a key file when it is set.
        var fromEnvironment = Environment.GetEnvironmentVariable("SKIFF_ADMIN_KEY");
        return string.IsNullOrWhiteSpace(fromEnvironment)
            ? File.ReadAllText(Path.Combine(dataDirectory, "admin.key")).Trim()
            : fromEnvironment.Trim();
    }
}

/// <summary>Task request bodies.</summary>
public static class TaskJson
{
    public static JsonObject Command(params string[] argv) => new() { ["command"] = new JsonArray([.. argv.Select(a => JsonValue.Create(a))]) };

    /// <summary>A shell script run by sh -c.</summary>
    public static JsonObject Shell(string script) => Command("sh", "-c", script);

    public static JsonObject Type(string type, JsonObject? parameters = null)
    {
        var body = new JsonObject { ["type"] = type };
        if (parameters is not null)
        {
            body["parameters"] = parameters;
        }
        return body;
    }

    public static JsonObject With(this JsonObject body, string name, JsonNode? value)
    {
        body[name] = value;
        return body;
    }

    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>RFC 9457 problem responses.</summary>
public static class ProblemAssert
{
    /// <summary>
    /// Asserts the exact status, the problem+json content type and that the problem names <paramref name="field"/>:
    /// as a key of <c>errors</c> and in <c>detail</c> for validation problems, in <c>detail</c> otherwise.
    /// </summary>
    public static async Task<JsonObject> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!.AsObject();
        Assert.Equal((int)status, (int)problem["status"]!);
        var detail = (string?)problem["detail"] ?? "";
        Assert.True(detail.Contains(field, StringComparison.Ordinal), $"detail does not name '{field}': {body}");
        if (problem["errors"] is JsonObject errors)
        {
            Assert.True(errors.ContainsKey(field), $"errors has no '{field}': {body}");
        }
        return problem;
    }
}
