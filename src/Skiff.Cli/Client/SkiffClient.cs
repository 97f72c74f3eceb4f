using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Skiff.Cli.Commands;

namespace Skiff.Cli.Client;

/// <summary>
/// The Skiff HTTP API as the CLI uses it. Every failure surfaces as a <see cref="CliException"/> whose message
/// is the one line the user sees: the problem details' detail (or title), or why the server was unreachable.
/// </summary>
internal sealed partial class SkiffClient : IDisposable
{
    /// <summary>Ordinary calls are small; a server that takes longer than this is not going to answer.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly ClientSettings _settings;

    public SkiffClient(ClientSettings settings, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        var baseUri = settings.BaseUri.AbsoluteUri.EndsWith('/') ? settings.BaseUri : new Uri(settings.BaseUri.AbsoluteUri + "/");

        // The client-wide timeout stays infinite: following logs lasts as long as the task runs. Other calls
        // get RequestTimeout each (see SendAsync).
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = baseUri;
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("skiff-cli", "1.0"));
        if (settings.ApiKey is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings.ApiKey);
        }
    }

    public Uri BaseUri => _settings.BaseUri;

    /// <summary>The URL as people write it, without the trailing slash <see cref="Uri"/> adds.</summary>
    public string DisplayUrl => _settings.BaseUri.AbsoluteUri.TrimEnd('/');

    public void Dispose() => _http.Dispose();

    /// <summary>Submits a task; an idempotent replay (200) returns the existing task like a new one (201).</summary>
    public Task<TaskDocument> SubmitAsync(SubmitTaskRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, "tasks")
        {
            Content = JsonContent.Create(request, SkiffJsonContext.Default.SubmitTaskRequest),
        };
        if (idempotencyKey is not null)
        {
            message.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return SendJsonAsync(message, SkiffJsonContext.Default.TaskDocument, cancellationToken);
    }

    public Task<TaskDocument> GetTaskAsync(string taskId, CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Get, TaskPath(taskId)), SkiffJsonContext.Default.TaskDocument, cancellationToken);

    public Task<TaskPage> ListTasksAsync(string? status, int? limit, string? cursor, CancellationToken cancellationToken) =>
        SendJsonAsync(
            new HttpRequestMessage(HttpMethod.Get, "tasks" + Query(("status", status), ("limit", limit?.ToString()), ("cursor", cursor))),
            SkiffJsonContext.Default.TaskPage,
            cancellationToken);

    public Task<TaskDocument> CancelAsync(string taskId, CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Post, TaskPath(taskId) + "/cancel"), SkiffJsonContext.Default.TaskDocument, cancellationToken);

    /// <summary>The last finished attempt's result, or null when no attempt has finished (the API's 404).</summary>
    public async Task<TaskResultDocument?> GetResultAsync(string taskId, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, TaskPath(taskId) + "/result");
        using var response = await SendAsync(message, allowNotFound: true, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        return await ReadJsonAsync(response, SkiffJsonContext.Default.TaskResultDocument, cancellationToken);
    }

    public Task<TaskPage> ListDeadLetterAsync(int? limit, string? cursor, CancellationToken cancellationToken) =>
        SendJsonAsync(
            new HttpRequestMessage(HttpMethod.Get, "dead-letter" + Query(("limit", limit?.ToString()), ("cursor", cursor))),
            SkiffJsonContext.Default.TaskPage,
            cancellationToken);

    public Task<TaskDocument> RedriveAsync(string taskId, CancellationToken cancellationToken) =>
        SendJsonAsync(
            new HttpRequestMessage(HttpMethod.Post, "dead-letter/" + Uri.EscapeDataString(taskId) + "/redrive"),
            SkiffJsonContext.Default.TaskDocument,
            cancellationToken);

    /// <summary>
    /// Asks /health without throwing: null when nothing answers at the URL (connection refused, timeout),
    /// otherwise the HTTP status and the report when the body could be read.
    /// </summary>
    public async Task<(HttpStatusCode Status, HealthDocument? Report)?> TryGetHealthAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            using var response = await _http.GetAsync("health", HttpCompletionOption.ResponseContentRead, timeoutSource.Token);
            HealthDocument? report = null;
            try
            {
                report = await response.Content.ReadFromJsonAsync(SkiffJsonContext.Default.HealthDocument, timeoutSource.Token);
            }
            catch (JsonException)
            {
                // Something answers, but not with a Skiff health report; the status code tells the caller enough.
            }
            return (response.StatusCode, report);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// Copies a task's log text to <paramref name="output"/> as it arrives. With <paramref name="follow"/> the
    /// server keeps the response open until the task ends.
    /// </summary>
    public async Task CopyLogsAsync(string taskId, bool follow, TextWriter output, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, TaskPath(taskId) + "/logs" + (follow ? "?follow=true" : ""));
        using var response = await SendAsync(message, allowNotFound: false, cancellationToken, streaming: true);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var buffer = new char[8192];
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer.AsMemory(), cancellationToken)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                await output.FlushAsync(cancellationToken);
            }
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"the log stream from {DisplayUrl} was interrupted ({e.Message})", e);
        }
        catch (IOException e)
        {
            throw new CliException($"the log stream from {DisplayUrl} was interrupted ({e.Message})", e);
        }
    }

    private async Task<T> SendJsonAsync<T>(HttpRequestMessage message, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using (message)
        {
            using var response = await SendAsync(message, allowNotFound: false, cancellationToken);
            return await ReadJsonAsync(response, typeInfo, cancellationToken);
        }
    }

    private async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken)
                ?? throw new CliException($"the server at {DisplayUrl} sent an empty response");
        }
        catch (JsonException e)
        {
            throw new CliException($"the server at {DisplayUrl} sent a response the CLI cannot read ({e.Message})", e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(
        HttpRequestMessage message,
        bool allowNotFound,
        CancellationToken cancellationToken,
        bool streaming = false)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (!streaming)
        {
            timeoutSource.CancelAfter(RequestTimeout);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(
                message,
                streaming ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead,
                timeoutSource.Token);
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.SecureConnectionError)
        {
            // Usually a certificate the system store does not trust (self-signed, private CA): say how to trust it.
            throw new CliException(
                $"TLS with {DisplayUrl} failed: {OneLine(e.InnerException?.Message ?? e.Message)} (to trust a private certificate, set SSL_CERT_FILE=its PEM file)", e);
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            throw new CliException($"cannot reach Skiff at {DisplayUrl} (start it with: ./skiff server)", e);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"request to {DisplayUrl} failed: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"Skiff at {DisplayUrl} did not answer within {RequestTimeout.TotalSeconds:0} s", e);
        }

        if (response.IsSuccessStatusCode || (allowNotFound && response.StatusCode == HttpStatusCode.NotFound))
        {
            return response;
        }

        using (response)
        {
            var problem = await TryReadProblemAsync(response, cancellationToken);
            throw new CliException(DescribeFailure(response.StatusCode, response.ReasonPhrase, problem, _settings));
        }
    }

    private static async Task<ProblemDocument?> TryReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return text.TrimStart().StartsWith('{') ? JsonSerializer.Deserialize(text, SkiffJsonContext.Default.ProblemDocument) : null;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>
    /// The one line shown for a failed call: the problem's detail (or title), each invalid field with its
    /// messages, and for 401 a hint where the key comes from.
    /// </summary>
    internal static string DescribeFailure(HttpStatusCode status, string? reasonPhrase, ProblemDocument? problem, ClientSettings settings)
    {
        var text = problem?.Detail ?? problem?.Title ?? $"HTTP {(int)status} {reasonPhrase ?? status.ToString()}".TrimEnd();
        if (problem?.Errors is { Count: > 0 } errors)
        {
            // Name each invalid field, unless the detail already says it (the server often writes it there).
            var missing = errors
                .Select(e => (Field: e.Key, Messages: e.Value.Where(m => !text.Contains(m, StringComparison.Ordinal)).ToList()))
                .Where(e => e.Messages.Count > 0)
                .Select(e => $"{e.Field}: {string.Join(", ", e.Messages)}")
                .ToList();
            if (missing.Count > 0)
            {
                text = $"{text.TrimEnd('.')}: {string.Join("; ", missing)}";
            }
        }

        text = OneLine(text);
        return status switch
        {
            HttpStatusCode.Unauthorized => settings.ApiKey is null
                ? $"unauthorized: {text} (no API key: pass --api-key, set {ClientSettings.ApiKeyVariable}, or run next to the server's data directory; looked for {settings.KeyFilePath})"
                : $"unauthorized: {text} (check --api-key / {ClientSettings.ApiKeyVariable} / {settings.KeyFilePath})",
            HttpStatusCode.Forbidden => $"forbidden: {text}",
            _ => text,
        };
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string TaskPath(string taskId) => "tasks/" + Uri.EscapeDataString(taskId);

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var pairs = parameters
            .Where(p => !string.IsNullOrEmpty(p.Value))
            .Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value!))
            .ToList();
        return pairs.Count == 0 ? "" : "?" + string.Join('&', pairs);
    }
}
