using System.Net;
using System.Net.Http.Headers;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Auth;

/// <summary>Bearer keys: every endpoint but /health, /metrics and the OpenAPI document needs the admin key.</summary>
[Collection(IdleServerCollection.Name)]
public sealed class AuthTests(IdleServerFixture fixture)
{
    private const string SomeTask = "t_00000000000000000000000000";

    private SkiffTestServer Server => fixture.Server;

    public static TheoryData<string, string> ProtectedEndpoints => new()
    {
        { "POST", "/tasks" },
        { "GET", "/tasks" },
        { "GET", $"/tasks/{SomeTask}" },
        { "POST", $"/tasks/{SomeTask}/cancel" },
        { "GET", $"/tasks/{SomeTask}/logs" },
        { "GET", $"/tasks/{SomeTask}/result" },
        { "GET", $"/tasks/{SomeTask}/artifacts/out.txt" },
        { "GET", "/dead-letter" },
        { "POST", $"/dead-letter/{SomeTask}/redrive" },
        { "GET", "/no-such-endpoint" },
    };

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public Task ProtectedEndpoint_NoKey_401(string method, string path) =>
        AssertUnauthorizedAsync(method, path, authorization: null, "missing API key");

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public Task ProtectedEndpoint_WrongKey_401(string method, string path) =>
        AssertUnauthorizedAsync(method, path, new AuthenticationHeaderValue("Bearer", "sk_not-a-real-key"), "API key is not valid");

    [Theory]
    [InlineData("Basic")]
    [InlineData("Bearer")]
    public async Task ProtectedEndpoint_MalformedAuthorization_401(string scheme)
    {
        await AssertUnauthorizedAsync("GET", "/tasks", new AuthenticationHeaderValue(scheme, scheme == "Basic" ? Server.AdminKey : new string('k', 300)), "API key");
    }

    [Theory]
    [InlineData("/health/../tasks")]
    [InlineData("/health/%2e%2e/tasks")]
    [InlineData("/metrics/..%2Ftasks")]
    [InlineData("/openapi/../dead-letter")]
    [InlineData("/HEALTH/../TASKS")]
    public async Task OpenPathPrefix_DotSegmentsToAProtectedEndpoint_NeverServedWithoutKey(string path)
    {
        var uri = new Uri(Server.BaseAddress.ToString().TrimEnd('/') + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

        using var response = await Server.Anonymous.GetAsync(uri);

        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Submit_WithoutKey_StoresNothing()
    {
        var count = await Server.CountTasksAsync();

        using (var response = await Server.PostJsonAsync("/tasks", """{"command":["true"]}""", client: Server.Anonymous))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Equal(count, await Server.CountTasksAsync());
    }

    [Theory]
    [InlineData("/health", "application/json")]
    [InlineData("/metrics", "text/plain")]
    [InlineData("/openapi/v1.json", "application/json")]
    public async Task OpenEndpoint_NoKey_200(string path, string mediaType)
    {
        using var response = await Server.Anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public void AdminKeyFile_FirstStart_OwnerOnlyMode()
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("SKIFF_ADMIN_KEY")))
        {
            return; // The server registered the environment's key and wrote no file.
        }
        var file = Path.Combine(Server.DataDirectory, "admin.key");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.StartsWith("sk_", Server.AdminKey, StringComparison.Ordinal);
    }

    private async Task AssertUnauthorizedAsync(string method, string path, AuthenticationHeaderValue? authorization, string detail)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = authorization;
        if (method == "POST")
        {
            request.Content = new StringContent("""{"command":["true"]}""", System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await Server.Anonymous.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "API key");
        Assert.Contains(detail, (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }
}
