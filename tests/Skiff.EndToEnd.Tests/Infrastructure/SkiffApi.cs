using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Skiff.EndToEnd.Tests.Infrastructure;

/// <summary>A task as GET /tasks answers it, read independently of the CLI's own client types.</summary>
internal sealed record TaskView(
    string TaskId,
    string Status,
    bool DeadLettered,
    string Queue,
    int Priority,
    int Attempts,
    int MaxAttempts,
    int? ExitCode,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    IReadOnlyList<string>? Command,
    IReadOnlyList<TaskEventView>? Events)
{
    public static readonly IReadOnlySet<string> TerminalStatuses = new HashSet<string>(StringComparer.Ordinal) { "succeeded", "failed", "timed_out", "cancelled" };

    public bool IsTerminal => TerminalStatuses.Contains(Status);

    public IReadOnlyList<TaskEventView> History => Events ?? throw new InvalidOperationException($"{TaskId} was read without its events");

    public override string ToString() =>
        $"{TaskId} [{string.Join(' ', Command ?? [])}] {Status}{(DeadLettered ? " (dlq)" : "")} attempts {Attempts}/{MaxAttempts} exit {ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}"
        + (Events is null ? "" : " events: " + string.Join(" | ", Events));
}

internal sealed record TaskEventView(DateTimeOffset At, string Status, int Attempt, string? Reason)
{
    public override string ToString() => $"{Status}#{Attempt} {Reason}";
}

/// <summary>The server's HTTP API with the admin key, for driving and inspecting a server from tests.</summary>
internal sealed class SkiffApi : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;

    public SkiffApi(Uri baseUri, string apiKey)
    {
        _http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>A command task body: <c>{"command": [...]}</c> plus optional fields.</summary>
    public static JsonObject CommandTask(string[] command, int? priority = null, int? maxAttempts = null)
    {
        var body = new JsonObject { ["command"] = new JsonArray(command.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()) };
        if (priority is { } p)
        {
            body["priority"] = p;
        }
        if (maxAttempts is { } m)
        {
            body["maxAttempts"] = m;
        }
        return body;
    }

    /// <summary>POST /tasks; the status code and, on 200/201, the task.</summary>
    public async Task<(HttpStatusCode Status, TaskView? Task)> TrySubmitAsync(JsonObject body, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync("tasks", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), cancellationToken);
        var task = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<TaskView>(Json, cancellationToken) : null;
        return (response.StatusCode, task);
    }

    /// <summary>POST /tasks, which must answer 201; returns the new task's id.</summary>
    public async Task<string> SubmitAsync(JsonObject body)
    {
        var (status, task) = await TrySubmitAsync(body);
        Assert.Equal(HttpStatusCode.Created, status);
        return task!.TaskId;
    }

    /// <summary>GET /tasks/{id}, with events.</summary>
    public async Task<TaskView> GetAsync(string taskId)
    {
        using var response = await _http.GetAsync($"tasks/{taskId}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /tasks/{taskId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<TaskView>(Json))!;
    }

    /// <summary>Every task (following cursors), newest first, without events.</summary>
    public async Task<IReadOnlyList<TaskView>> ListAllAsync(string? status = null)
    {
        var all = new List<TaskView>();
        string? cursor = null;
        do
        {
            var query = "tasks?limit=500" + (status is null ? "" : "&status=" + status) + (cursor is null ? "" : "&cursor=" + cursor);
            var page = (await _http.GetFromJsonAsync<TaskPageView>(query, Json))!;
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return all;
    }

    public async Task<string> LogsAsync(string taskId)
    {
        using var response = await _http.GetAsync($"tasks/{taskId}/logs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    public async Task<TaskView> CancelAsync(string taskId)
    {
        using var response = await _http.PostAsync($"tasks/{taskId}/cancel", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"cancel {taskId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<TaskView>(Json))!;
    }

    public async Task<JsonNode> HealthAsync() => (await _http.GetFromJsonAsync<JsonNode>("health", Json))!;

    public void Dispose() => _http.Dispose();

    private sealed record TaskPageView(IReadOnlyList<TaskView> Items, string? NextCursor);
}
