using System.Diagnostics;
using Skiff.Server.Auth;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;

namespace Skiff.Bench;

/// <summary>
/// What authentication costs one request: the authenticator's cached path (SHA-256 of the key, a dictionary
/// hit) and its uncached path (prefix lookup in SQLite, constant-time hash compare), next to what a whole
/// POST /tasks costs in CPU on this machine (the api scenario's throughput over all cores).
/// </summary>
internal static class AuthBench
{
    private const int Iterations = 500_000;

    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchOptions options)
    {
        using var dir = new TempDir();
        await using var store = SqliteTaskStore.Open(Path.Combine(dir.Path, "skiff.db"));
        var now = DateTimeOffset.UtcNow;
        var key = ApiKeys.Generate();
        await store.Keys.CreateUserAsync(new UserRecord("u_bench", "bench", SkiffPrincipal.UserRole, now, null), CancellationToken.None);
        // Other keys in the table, as on a real server: the lookup must still find the one row.
        for (var i = 0; i < 1000; i++)
        {
            var other = ApiKeys.Generate();
            await store.Keys.CreateKeyAsync(new ApiKeyRecord($"k_{i}", "u_bench", "other", ApiKeys.PrefixOf(other), ApiKeys.Hash(other), now, null, null), CancellationToken.None);
        }
        await store.Keys.CreateKeyAsync(new ApiKeyRecord("k_bench", "u_bench", "bench", ApiKeys.PrefixOf(key), ApiKeys.Hash(key), now, null, null), CancellationToken.None);
        var authenticator = new ApiKeyAuthenticator(store, TimeProvider.System);

        var cachedNs = await TimeAsync(Iterations, async () => await authenticator.AuthenticateAsync(key, CancellationToken.None));
        var uncachedNs = await TimeAsync(Iterations / 10, async () =>
        {
            authenticator.Invalidate();
            await authenticator.AuthenticateAsync(key, CancellationToken.None);
        });
        var api = await ApiBench.RunAsync(options);
        var postRate = api[0].Value;
        var requestCpuNs = Environment.ProcessorCount * 1e9 / postRate;
        var share = cachedNs / requestCpuNs * 100;
        Console.WriteLine($"auth: cached {cachedNs:0} ns, uncached {uncachedNs:0} ns; POST /tasks {postRate:0} req/s = {requestCpuNs / 1000:0} µs CPU per request; auth share {share:0.00}%");
        return
        [
            new Figure("authenticate, cached key (per request)", cachedNs, "ns", "-"),
            new Figure("authenticate, uncached (prefix lookup + constant-time compare)", uncachedNs, "ns", "-"),
            new Figure("POST /tasks CPU per request (cores / throughput)", requestCpuNs / 1000, "µs", "-"),
            new Figure("auth share of a POST /tasks", share, "%", "≤ 5%"),
        ];
    }

    private static async Task<double> TimeAsync(int iterations, Func<Task> call)
    {
        for (var i = 0; i < 1000; i++)
        {
            await call();
        }
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            await call();
        }
        return clock.Elapsed.TotalNanoseconds / iterations;
    }
}
