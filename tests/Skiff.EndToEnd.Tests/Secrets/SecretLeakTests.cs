using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Secrets;

/// <summary>
/// The grep test: a real <c>skiff server</c> process (verbose logging on), a secret set through the real CLI, tasks that
/// use it and print it, and then every API answer, every CLI output, the server's own log output and every file of
/// the data directory searched for the value.
/// </summary>
public sealed class SecretLeakTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "sk_e2e_secret_leaks";
    private static readonly TimeSpan CommandDeadline = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _directory = new();
    private ServerProcess? _server;

    private string WorkingDirectory => _directory.Combine("cwd");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkingDirectory);
        _server = await ServerProcess.StartAsync(new ServerLaunch(_directory.Combine("data"), _directory.Path, AdminKey)
        {
            MaxWorkers = 2,
            Environment = new Dictionary<string, string?>
            {
                // As an admin chasing a problem would: Skiff's own categories at Trace, every request logged.
                ["Logging__LogLevel__Skiff"] = "Trace",
                ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Debug",
                ["Logging__LogLevel__Microsoft.AspNetCore.Routing"] = "Debug",
            },
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

    [Fact]
    public async Task SecretUsedByTasks_ValueInNoApiAnswerCliOutputServerLogOrDataFile()
    {
        var server = _server!;
        var value = "e2e-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        using var http = new HttpClient { BaseAddress = server.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);

        // Set through the CLI, the value piped to stdin as a user would.
        var set = await RunCliAsync(value + "\n", "secret", "set", "db-creds");
        outputs["skiff secret set"] = set.ToString();
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal("db-creds user version 1", set.Stdout.Trim());

        // One task succeeds (submitted and followed by the CLI); one fails twice with the value in its output.
        const string Script = """test "$(printf %s "$DB_PASSWORD" | sha256sum | cut -d ' ' -f 1)" = "$EXPECTED_SHA256" && echo match; echo "value=$DB_PASSWORD"; echo "err $DB_PASSWORD" >&2""";
        var submit = await RunCliAsync(null, "submit", "--secret", "DB_PASSWORD=db-creds", "--env", "EXPECTED_SHA256=" + sha, "--wait", "--", "sh", "-c", Script);
        outputs["skiff submit --wait"] = submit.ToString();
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var failing = new JsonObject
        {
            ["command"] = new JsonArray("sh", "-c", Script + "; exit 3"),
            ["secrets"] = new JsonObject { ["DB_PASSWORD"] = "db-creds" },
            ["env"] = new JsonObject { ["EXPECTED_SHA256"] = sha },
            ["maxAttempts"] = 2,
        };
        string failingId;
        using (var response = await http.PostAsync("tasks", new StringContent(failing.ToJsonString(), Encoding.UTF8, "application/json")))
        {
            var body = await response.Content.ReadAsStringAsync();
            outputs["POST /tasks"] = body;
            Assert.True(response.StatusCode == HttpStatusCode.Created, body);
            failingId = (string)JsonNode.Parse(body)!["taskId"]!;
        }
        using var api = server.CreateApi();
        var ended = await Eventually.UntilAsync(() => api.GetAsync(failingId), t => t.IsTerminal, TimeSpan.FromSeconds(60), $"{failingId} to end");
        Assert.Equal("failed", ended.Status);
        var ids = (await api.ListAllAsync()).Select(t => t.TaskId).ToList();
        Assert.Equal(2, ids.Count);

        // Every answer the API gives about them.
        var paths = new List<string> { "tasks?limit=500", "secrets", "dead-letter", "health", "metrics", "audit", "openapi/v1.json" };
        foreach (var id in ids)
        {
            paths.AddRange([$"tasks/{id}", $"tasks/{id}/logs", $"tasks/{id}/logs?timestamps=true", $"tasks/{id}/result"]);
        }
        foreach (var path in paths)
        {
            using var response = await http.GetAsync(path);
            outputs["GET /" + path] = await response.Content.ReadAsStringAsync();
        }
        foreach (var id in ids)
        {
            outputs[$"skiff status {id}"] = (await RunCliAsync(null, "status", "--json", id)).ToString();
            outputs[$"skiff logs {id}"] = (await RunCliAsync(null, "logs", id)).ToString();
        }
        var list = await RunCliAsync(null, "secret", "ls");
        outputs["skiff secret ls"] = list.ToString();

        // The checks are not vacuous: the tasks saw the value, printed it, and what was kept shows the mask.
        foreach (var id in ids)
        {
            Assert.Contains("match", outputs[$"GET /tasks/{id}/logs"], StringComparison.Ordinal);
            Assert.Contains("value=***", outputs[$"GET /tasks/{id}/logs"], StringComparison.Ordinal);
        }
        Assert.Contains("db-creds", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"DB_PASSWORD\": \"db-creds\"", outputs[$"skiff status {failingId}"], StringComparison.Ordinal);

        // Stop the server (its log is complete then), and look at everything.
        await server.TerminateAsync();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        outputs["server output"] = server.Output;
        Assert.Contains("Request starting", server.Output, StringComparison.Ordinal);
        Assert.Contains("PUT http", server.Output, StringComparison.Ordinal);

        foreach (var (source, text) in outputs)
        {
            Assert.False(text.Contains(value, StringComparison.Ordinal), $"{source} holds the secret's value:\n{text}");
        }

        var needle = Encoding.UTF8.GetBytes(value);
        // Links (the image roots have some) hold no data of their own, and may point nowhere on the host.
        foreach (var file in Directory.EnumerateFiles(_directory.Combine("data"), "*", SearchOption.AllDirectories).Where(f => new FileInfo(f).LinkTarget is null))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"{file} holds the secret's value");
        }
    }

    /// <summary>Runs <c>skiff ARGS</c> against the server, with <paramref name="stdin"/> piped in when given.</summary>
    private async Task<ProcessRun> RunCliAsync(string? stdin, params string[] arguments)
    {
        var startInfo = SkiffProgram.SkiffStartInfo(arguments, WorkingDirectory,
            new Dictionary<string, string?> { ["SKIFF_URL"] = _server!.BaseUri.AbsoluteUri.TrimEnd('/'), ["SKIFF_API_KEY"] = AdminKey });
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start skiff");
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(CommandDeadline);
        return new ProcessRun(process.ExitCode, await stdout, await stderr);
    }
}
