using System.Net;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>
/// GET /tasks/{id}/artifacts/{path} serves files the task wrote under SKIFF_OUTPUT and nothing else: no path
/// (raw, percent-encoded, absolute, through links the task made) reaches a file outside it.
/// </summary>
[Collection(RunningServerCollection.Name)]
public sealed class ArtifactPathTests(RunningServerFixture fixture) : IAsyncLifetime, IDisposable
{
    private const string Secret = "TOP-SECRET-outside-the-output";
    private readonly TempDirectory _outside = new();
    private string _taskId = "";

    private SkiffTestServer Server => fixture.Server;

    public async Task InitializeAsync()
    {
        var secretFile = _outside.Combine("secret.txt");
        await File.WriteAllTextAsync(secretFile, Secret);
        var script = """
            printf ok > "$SKIFF_OUTPUT/ok.txt"
            mkdir "$SKIFF_OUTPUT/sub" && printf inner > "$SKIFF_OUTPUT/sub/inner.txt"
            ln -s /etc/passwd "$SKIFF_OUTPUT/passwd-link"
            ln -s /etc "$SKIFF_OUTPUT/etc-link"
            ln -s "$SECRET" "$SKIFF_OUTPUT/secret-link"
            ln -s "$(dirname "$SECRET")" "$SKIFF_OUTPUT/sub/outside-dir"
            """;
        _taskId = await Server.SubmitIdAsync(TaskJson.Shell(script).With("env", new JsonObject { ["SECRET"] = secretFile }));
        await Server.WaitForStatusAsync(_taskId, "succeeded");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _outside.Dispose();

    [Fact]
    public async Task Result_OutputWithSymlinks_ListsOnlyRegularFiles()
    {
        var result = await Server.GetJsonAsync($"/tasks/{_taskId}/result");

        Assert.Equal(["ok.txt", "sub/inner.txt"], result["artifacts"]!.AsArray().Select(a => (string)a!["path"]!));
        Assert.Equal("ok", await Server.Client.GetStringAsync($"/tasks/{_taskId}/artifacts/ok.txt"));
        Assert.Equal("inner", await Server.Client.GetStringAsync($"/tasks/{_taskId}/artifacts/sub/inner.txt"));
    }

    [Theory]
    [InlineData("passwd-link")]
    [InlineData("etc-link/passwd")]
    [InlineData("secret-link")]
    [InlineData("sub/outside-dir/secret.txt")]
    [InlineData("../../../../../../../../etc/passwd")]
    [InlineData("sub/../../../../../../../../etc/passwd")]
    [InlineData("..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd")]
    [InlineData("%252e%252e%252f%252e%252e%252fetc%252fpasswd")]
    [InlineData("..%5c..%5c..%5c..%5c..%5c..%5c..%5c..%5cetc%5cpasswd")]
    [InlineData("/etc/passwd")]
    [InlineData("%2fetc%2fpasswd")]
    [InlineData("//etc/passwd")]
    [InlineData("sub//inner.txt")]
    [InlineData("ok.txt/")]
    public async Task Artifact_PathEscapingTheOutput_400Or404AndNeverTheFile(string path)
    {
        // Sent byte for byte: HttpClient would otherwise resolve the dot segments itself.
        var uri = new Uri($"{Server.BaseAddress.ToString().TrimEnd('/')}/tasks/{_taskId}/artifacts/{path}",
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);

        using var response = await Server.Client.SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
        Assert.DoesNotContain("root:", body, StringComparison.Ordinal);
    }
}
