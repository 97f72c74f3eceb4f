using Xunit;

namespace Skiff.Server.Tests.Infrastructure;

/// <summary>A server that runs tasks (4 worker slots), shared by the tests of <see cref="RunningServerCollection"/>.</summary>
public sealed class RunningServerFixture : IAsyncLifetime
{
    public const int MaxWorkers = 4;

    private SkiffTestServer? _server;

    public SkiffTestServer Server => _server ?? throw new InvalidOperationException("the fixture is not initialised");

    public async Task InitializeAsync() => _server = await SkiffTestServer.StartAsync(MaxWorkers);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// An API-only server (0 worker slots): every task stays queued, so counts, listings and cancellation of queued
/// tasks are exact. Shared by the tests of <see cref="IdleServerCollection"/>.
/// </summary>
public sealed class IdleServerFixture : IAsyncLifetime
{
    private SkiffTestServer? _server;

    public SkiffTestServer Server => _server ?? throw new InvalidOperationException("the fixture is not initialised");

    public async Task InitializeAsync() => _server = await SkiffTestServer.StartAsync(maxWorkers: 0);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RunningServerCollection : ICollectionFixture<RunningServerFixture>
{
    public const string Name = "Running server";
}

[CollectionDefinition(Name)]
public sealed class IdleServerCollection : ICollectionFixture<IdleServerFixture>
{
    public const string Name = "Idle server";
}

/// <summary>
/// A server whose executor is runc (4 worker slots): every attempt in its own container. Without runc, tini or
/// root the server refuses to start and every test of <see cref="RuncServerCollection"/> fails saying so.
/// </summary>
public sealed class RuncServerFixture : IAsyncLifetime
{
    private SkiffTestServer? _server;

    public SkiffTestServer Server => _server ?? throw new InvalidOperationException("the fixture is not initialised");

    public async Task InitializeAsync() =>
        _server = await SkiffTestServer.StartAsync(RunningServerFixture.MaxWorkers, new Dictionary<string, string?> { ["Skiff:Executor"] = "runc" });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RuncServerCollection : ICollectionFixture<RuncServerFixture>
{
    public const string Name = "runc server";
}
