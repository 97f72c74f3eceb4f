using System.Net;
using Microsoft.Extensions.Options;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Transport;

/// <summary>
/// CORS for the configured origins only: a browser's preflight (which carries no key) is answered without
/// authentication, an allowed origin gets Access-Control-Allow-Origin, any other origin gets no CORS header.
/// </summary>
[Collection(CorsServerCollection.Name)]
public sealed class CorsTests(CorsServerFixture fixture)
{
    private const string SomeTask = "t_00000000000000000000000000";

    private SkiffTestServer Server => fixture.Server;

    [Theory]
    [InlineData(CorsServerFixture.AllowedOrigin, "/tasks", "POST")]
    [InlineData(CorsServerFixture.AllowedOrigin, "/tasks", "GET")]
    [InlineData(CorsServerFixture.OtherAllowedOrigin, $"/tasks/{SomeTask}/cancel", "POST")]
    [InlineData(CorsServerFixture.AllowedOrigin, "/dead-letter", "GET")]
    public async Task Preflight_AllowedOrigin_204WithAllowHeadersAndNoKeyNeeded(string origin, string path, string method)
    {
        using var response = await PreflightAsync(origin, path, method, "authorization,content-type,idempotency-key");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(origin, Header(response, "Access-Control-Allow-Origin"));
        Assert.Contains(method, Header(response, "Access-Control-Allow-Methods")!.Split(','));
        var allowedHeaders = Header(response, "Access-Control-Allow-Headers")!.ToLowerInvariant().Split(',').Select(h => h.Trim()).ToList();
        Assert.Contains("authorization", allowedHeaders);
        Assert.Contains("content-type", allowedHeaders);
        Assert.Contains("idempotency-key", allowedHeaders);
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
    }

    [Fact]
    public async Task Preflight_ForeignOrigin_NoCorsHeaders()
    {
        using var response = await PreflightAsync(CorsServerFixture.ForeignOrigin, "/tasks", "POST", "authorization,content-type");

        AssertNoCorsHeaders(response);
    }

    [Fact]
    public async Task Preflight_MethodOutsideThePolicy_NotOffered()
    {
        using var response = await PreflightAsync(CorsServerFixture.AllowedOrigin, "/tasks", "PATCH", "authorization");

        Assert.DoesNotContain("PATCH", Header(response, "Access-Control-Allow-Methods") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preflight_HeaderOutsideThePolicy_NotOffered()
    {
        using var response = await PreflightAsync(CorsServerFixture.AllowedOrigin, "/tasks", "GET", "x-forwarded-user");

        Assert.DoesNotContain("x-forwarded-user", (Header(response, "Access-Control-Allow-Headers") ?? "").ToLowerInvariant(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_AllowedOrigin_AllowOriginOnTheAnswerAndOnA401()
    {
        using var authorized = new HttpRequestMessage(HttpMethod.Get, "/tasks");
        authorized.Headers.Add("Origin", CorsServerFixture.AllowedOrigin);
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "/tasks");
        anonymous.Headers.Add("Origin", CorsServerFixture.AllowedOrigin);

        using var ok = await Server.Client.SendAsync(authorized);
        using var refused = await Server.Anonymous.SendAsync(anonymous);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(CorsServerFixture.AllowedOrigin, Header(ok, "Access-Control-Allow-Origin"));
        Assert.Contains("Origin", ok.Headers.Vary);
        Assert.Contains("Location", Header(ok, "Access-Control-Expose-Headers")!.Split(','));
        // The page can read why it was refused.
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(CorsServerFixture.AllowedOrigin, Header(refused, "Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData(CorsServerFixture.ForeignOrigin)]
    [InlineData("https://dashboard.example.com.evil.example.net")]
    [InlineData("http://dashboard.example.com")]
    [InlineData("null")]
    public async Task Request_OriginNotAllowed_NoCorsHeaders(string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/tasks");
        request.Headers.Add("Origin", origin);

        using var response = await Server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertNoCorsHeaders(response);
    }

    [Theory]
    [InlineData("https://dashboard.example.com/")]
    [InlineData("https://dashboard.example.com/app")]
    [InlineData("dashboard.example.com")]
    [InlineData("ftp://dashboard.example.com")]
    [InlineData("https://user@dashboard.example.com")]
    [InlineData("*")]
    public async Task Start_SettingThatIsNotAnOrigin_FailsNamingCorsOriginsAndTheValue(string origin)
    {
        using var temp = new TempDirectory();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?> { ["Skiff:CorsOrigins:0"] = origin }, temp.Combine("data")));

        var message = string.Join("; ", error.Failures);
        Assert.Contains("CorsOrigins", message, StringComparison.Ordinal);
        Assert.Contains($"'{origin}'", message, StringComparison.Ordinal);
    }

    internal static void AssertNoCorsHeaders(HttpResponseMessage response)
    {
        var cors = response.Headers.Select(h => h.Key).Where(k => k.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(cors.Count == 0, $"unexpected CORS headers: {string.Join(", ", cors)}");
    }

    internal static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private Task<HttpResponseMessage> PreflightAsync(string origin, string path, string method, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return Server.Anonymous.SendAsync(request);
    }
}

/// <summary>A server configured with no origins sends no CORS header to anyone.</summary>
[Collection(IdleServerCollection.Name)]
public sealed class CorsDisabledTests(IdleServerFixture fixture)
{
    [Fact]
    public async Task NoOriginsConfigured_PreflightAndRequest_NoCorsHeaders()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/tasks");
        preflight.Headers.Add("Origin", CorsServerFixture.AllowedOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/tasks");
        request.Headers.Add("Origin", CorsServerFixture.AllowedOrigin);

        using var preflightResponse = await fixture.Server.Anonymous.SendAsync(preflight);
        using var response = await fixture.Server.Client.SendAsync(request);

        CorsTests.AssertNoCorsHeaders(preflightResponse);
        Assert.False(preflightResponse.IsSuccessStatusCode, $"preflight answered {(int)preflightResponse.StatusCode}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        CorsTests.AssertNoCorsHeaders(response);
    }
}
