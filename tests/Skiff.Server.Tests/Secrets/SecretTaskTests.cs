using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Skiff.Server.Secrets;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Secrets;

/// <summary>
/// Tasks that use secrets on a server that runs them: the value reaches the task's environment and nothing kept of
/// the task (document, events, logs, result, listings) holds it.
/// </summary>
[Collection(RunningServerCollection.Name)]
public sealed class SecretTaskTests(RunningServerFixture fixture)
{
    /// <summary>
    /// Checks the variable against the SHA-256 of the expected value (the task sees the hash, never a copy of the
    /// value), then prints the value to stdout and stderr.
    /// </summary>
    internal const string PrintScript =
        """test "$(printf %s "$DB_PASSWORD" | sha256sum | cut -d ' ' -f 1)" = "$EXPECTED_SHA256" && echo match; echo "value=$DB_PASSWORD"; echo "err $DB_PASSWORD" >&2""";

    private SkiffTestServer Server => fixture.Server;

    private static string NewName() => "db-" + Guid.NewGuid().ToString("N")[..12];

    private static string NewValue() => "Sup3r-" + Guid.NewGuid().ToString("N");

    private async Task PutAsync(string name, string value, string query = "", HttpClient? client = null)
    {
        using var response = await (client ?? Server.Client).PutAsync($"/secrets/{name}{query}",
            new StringContent(new JsonObject { ["value"] = value }.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A task that prints "match" when it got <paramref name="expected"/> in DB_PASSWORD, then prints the value.</summary>
    internal static JsonObject PrintTask(string secretName, string expected, string script = PrintScript, int maxAttempts = 1) =>
        TaskJson.Shell(script)
            .With("secrets", new JsonObject { ["DB_PASSWORD"] = secretName })
            .With("env", new JsonObject { ["EXPECTED_SHA256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(expected))) })
            .With("maxAttempts", maxAttempts);

    private async Task<string> SubmitAsAsync(HttpClient client, JsonObject body)
    {
        using var response = await Server.PostJsonAsync("/tasks", body.ToJsonString(), client: client);
        return (string)(await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created))["taskId"]!;
    }

    [Fact]
    public async Task Task_WithSecret_GetsTheValueInItsEnvironmentAndItsOutputIsMasked()
    {
        var (name, value) = (NewName(), NewValue());
        await PutAsync(name, value);

        var id = await Server.SubmitIdAsync(PrintTask(name, value));
        var task = await Server.WaitForEndAsync(id);

        Assert.Equal("succeeded", SkiffTestServer.Status(task));
        var log = await Server.Client.GetStringAsync($"/tasks/{id}/logs");
        Assert.Contains("match", log, StringComparison.Ordinal);
        Assert.Contains("value=***", log, StringComparison.Ordinal);
        Assert.Contains("err ***", log, StringComparison.Ordinal);
        Assert.DoesNotContain(value, log, StringComparison.Ordinal);
        var result = await Server.GetJsonAsync($"/tasks/{id}/result");
        Assert.Contains("value=***", (string)result["stdoutTail"]!, StringComparison.Ordinal);
        Assert.Contains("err ***", (string)result["stderrTail"]!, StringComparison.Ordinal);
        Assert.DoesNotContain(value, result.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_FailingWithTheValueInItsOutput_EveryApiAnswerIsFreeOfTheValue()
    {
        // The grep test, in process: a task that prints the value, fails and retries, then every answer about it.
        var (name, value) = (NewName(), NewValue());
        await PutAsync(name, value);
        var body = PrintTask(name, value, PrintScript + "; exit 3", maxAttempts: 2);

        var id = await Server.SubmitIdAsync(body);
        var task = await Server.WaitForEndAsync(id);

        Assert.Equal("failed", SkiffTestServer.Status(task));
        Assert.Equal(2, (int)task["attempts"]!);
        var answers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in new[]
        {
            $"/tasks/{id}", "/tasks?limit=500", $"/tasks/{id}/logs", $"/tasks/{id}/logs?timestamps=true", $"/tasks/{id}/result",
            "/secrets", "/dead-letter", "/health", "/metrics", "/audit",
        })
        {
            using var response = await Server.Client.GetAsync(path);
            answers[path] = await response.Content.ReadAsStringAsync();
        }

        Assert.Contains("match", answers[$"/tasks/{id}/logs"], StringComparison.Ordinal);
        Assert.Contains("***", answers[$"/tasks/{id}/logs"], StringComparison.Ordinal);
        Assert.Contains(name, answers["/secrets"], StringComparison.Ordinal);
        foreach (var (path, answer) in answers)
        {
            Assert.False(answer.Contains(value, StringComparison.Ordinal), $"GET {path} holds the secret's value: {answer}");
        }
    }

    [Fact]
    public async Task Task_SharedSecret_UsableByAnyUser()
    {
        var (name, value) = (NewName(), NewValue());
        await PutAsync(name, value, "?scope=shared");
        using var user = await Server.AddUserAsync();

        var id = await SubmitAsAsync(user.Client, PrintTask(name, value));

        Assert.Equal("succeeded", SkiffTestServer.Status(await Server.WaitForEndAsync(id)));
        Assert.Contains("match", await Server.Client.GetStringAsync($"/tasks/{id}/logs"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_OwnAndSharedSecretOfTheSameName_TheOwnOneIsUsed()
    {
        var (name, own, shared) = (NewName(), NewValue(), NewValue());
        await PutAsync(name, shared, "?scope=shared");
        using var user = await Server.AddUserAsync();
        await PutAsync(name, own, client: user.Client);

        var id = await SubmitAsAsync(user.Client, PrintTask(name, own));

        Assert.Equal("succeeded", SkiffTestServer.Status(await Server.WaitForEndAsync(id)));
        var log = await Server.Client.GetStringAsync($"/tasks/{id}/logs");
        Assert.Contains("match", log, StringComparison.Ordinal);
        Assert.DoesNotContain(shared, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_SecretAlteredInTheDatabase_FailsNamingTheSecretWithoutItsValue()
    {
        var (name, value) = (NewName(), NewValue());
        await PutAsync(name, value);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(Server.DataDirectory, "skiff.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout = 10000; UPDATE secrets SET tag = zeroblob(16) WHERE name = $n";
            command.Parameters.AddWithValue("$n", name);
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        var id = await Server.SubmitIdAsync(PrintTask(name, value));
        var task = await Server.WaitForEndAsync(id);

        Assert.Equal("failed", SkiffTestServer.Status(task));
        var error = (string)task["error"]!;
        Assert.Contains($"secret '{name}'", error, StringComparison.Ordinal);
        Assert.Contains("cannot be decrypted", error, StringComparison.Ordinal);
        var log = await Server.Client.GetStringAsync($"/tasks/{id}/logs");
        Assert.Contains("cannot be decrypted", log, StringComparison.Ordinal);
        Assert.DoesNotContain("match", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RotateKey_ThenTasksStillGetTheirValuesAndTheKeyFileHoldsOnlyTheNewKey()
    {
        var (name, value) = (NewName(), NewValue());
        await PutAsync(name, value);
        var keyFile = Path.Combine(Server.DataDirectory, SecretKeyRing.FileName);
        var before = await File.ReadAllTextAsync(keyFile);

        using var response = await Server.PostAsync("/secrets/rotate-key");

        var rotation = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        var active = (string)rotation["activeKeyId"]!;
        Assert.True((int)rotation["resealed"]! >= 1);
        Assert.Empty(rotation["keptKeyIds"]!.AsArray());
        var keyLines = File.ReadAllLines(keyFile).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.StartsWith(active + " ", Assert.Single(keyLines), StringComparison.Ordinal);
        Assert.DoesNotContain(keyLines[0], before, StringComparison.Ordinal);
        var id = await Server.SubmitIdAsync(PrintTask(name, value));
        Assert.Equal("succeeded", SkiffTestServer.Status(await Server.WaitForEndAsync(id)));
        Assert.Contains("match", await Server.Client.GetStringAsync($"/tasks/{id}/logs"), StringComparison.Ordinal);
    }
}
