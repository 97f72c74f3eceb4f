using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Transport;

/// <summary>
/// Every answer of the pipeline carries the security headers and <c>Cache-Control: no-store</c>: successes,
/// 401s, 404s, 405s, problems, preflights and /health alike, on every endpoint the server maps.
/// </summary>
[Collection(CorsServerCollection.Name)]
public sealed class SecurityHeadersTests(CorsServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    public static TheoryData<string, string, bool, string?, int> Requests => new()
    {
        { "GET", "/health", false, null, 200 },
        { "GET", "/metrics", false, null, 200 },
        { "GET", "/openapi/v1.json", false, null, 200 },
        { "GET", "/tasks", true, null, 200 },
        { "GET", "/tasks", false, null, 401 },
        { "GET", "/tasks/t_00000000000000000000000000", true, null, 404 },
        { "GET", "/no-such-endpoint", true, null, 404 },
        { "PATCH", "/tasks", true, null, 405 },
        { "POST", "/tasks", true, """{"command":[]}""", 400 },
        { "POST", "/tasks", true, "{", 400 },
        { "GET", "/tasks?limit=0", true, null, 400 },
        { "POST", "/tasks", true, """{"command":["true"]}""", 201 },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task AnyAnswer_CarriesSecurityHeadersAndNoStore(string method, string path, bool authenticated, string? json, int status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await (authenticated ? Server.Client : Server.Anonymous).SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task Preflight_CarriesSecurityHeaders()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/tasks");
        request.Headers.Add("Origin", CorsServerFixture.AllowedOrigin);
        request.Headers.Add("Access-Control-Request-Method", "POST");

        using var response = await Server.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task BodyOver1MB_413ProblemCarriesSecurityHeaders()
    {
        using var response = await Server.PostOversizedAsync("/tasks",
            new StringContent($$"""{"command":["echo","{{new string('a', 1024 * 1024)}}"]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task EveryMappedEndpoint_EveryMethod_WithAndWithoutKey_CarriesSecurityHeaders()
    {
        var endpoints = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Path: SamplePath(e))))
            .Distinct()
            .ToList();
        Assert.Contains(("POST", "/tasks"), endpoints);

        foreach (var (method, path) in endpoints)
        {
            foreach (var client in new[] { Server.Client, Server.Anonymous })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT" or "PATCH")
                {
                    // Never a valid body: nothing is created, whatever the endpoint.
                    request.Content = new StringContent("{\"unknownField\":", Encoding.UTF8, "application/json");
                }

                using var response = await client.SendAsync(request);

                Assert.True((int)response.StatusCode < 500, $"{method} {path}: {(int)response.StatusCode}");
                AssertSecurityHeaders(response, $"{method} {path} ({(client == Server.Client ? "admin" : "no key")})");
            }
        }
    }

    internal static void AssertSecurityHeaders(HttpResponseMessage response, string? what = null)
    {
        what ??= $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";
        Assert.True(HasHeader(response, "X-Content-Type-Options", "nosniff"), $"{what}: X-Content-Type-Options");
        Assert.True(HasHeader(response, "X-Frame-Options", "DENY"), $"{what}: X-Frame-Options");
        Assert.True(HasHeader(response, "Referrer-Policy", "no-referrer"), $"{what}: Referrer-Policy");
        Assert.True(HasHeader(response, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"), $"{what}: Content-Security-Policy");
        Assert.True(response.Headers.CacheControl is { NoStore: true }, $"{what}: Cache-Control is '{response.Headers.CacheControl}'");
        // Plain HTTP: HSTS would be meaningless (and browsers ignore it there).
        Assert.False(response.Headers.Contains("Strict-Transport-Security"), $"{what}: HSTS over plain HTTP");
        Assert.False(response.Headers.Contains("Server"), $"{what}: Server header");
    }

    private static bool HasHeader(HttpResponseMessage response, string name, string value) =>
        response.Headers.TryGetValues(name, out var values) && values.SingleOrDefault() == value;

    /// <summary>The route with a value that exists nowhere in each parameter.</summary>
    private static string SamplePath(RouteEndpoint endpoint)
    {
        var path = new StringBuilder();
        foreach (var segment in endpoint.RoutePattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                path.Append(part switch
                {
                    Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
                    Microsoft.AspNetCore.Routing.Patterns.RoutePatternSeparatorPart separator => separator.Content,
                    _ => "no-such-thing",
                });
            }
        }
        return path.Length == 0 ? "/" : path.ToString();
    }
}
