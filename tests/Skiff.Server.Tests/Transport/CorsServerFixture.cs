using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Transport;

/// <summary>An API-only server that allows two browser origins, shared by the tests of <see cref="CorsServerCollection"/>.</summary>
public sealed class CorsServerFixture : IAsyncLifetime
{
    public const string AllowedOrigin = "https://dashboard.example.com";
    public const string OtherAllowedOrigin = "http://127.0.0.1:8080";
    public const string ForeignOrigin = "https://evil.example.net";

    private SkiffTestServer? _server;

    public SkiffTestServer Server => _server ?? throw new InvalidOperationException("the fixture is not initialised");

    public async Task InitializeAsync() => _server = await SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?>
    {
        ["Skiff:CorsOrigins:0"] = AllowedOrigin,
        ["Skiff:CorsOrigins:1"] = OtherAllowedOrigin,
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class CorsServerCollection : ICollectionFixture<CorsServerFixture>
{
    public const string Name = "CORS server";
}
