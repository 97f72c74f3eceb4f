using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Skiff.Server.Auth;
using Skiff.Storage.Contract;

namespace Skiff.Server.Tests.Infrastructure;

/// <summary>
/// Users made straight in the server's store, the way <see cref="AdminBootstrap"/> makes the admin: for tests
/// that need a second user but are not about the /users API.
/// </summary>
public static class StoreUsers
{
    /// <summary>Creates a user with the "user" role and one API key; returns their id and a client sending the key.</summary>
    public static async Task<(string UserId, HttpClient Client)> CreateUserInStoreAsync(this SkiffTestServer server, string name)
    {
        var store = server.Services.GetRequiredService<ITaskStore>();
        var now = DateTimeOffset.UtcNow;
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var user = await store.Keys.CreateUserAsync(
            new UserRecord($"u_{name}_{suffix}", $"{name}-{suffix}", SkiffPrincipal.UserRole, now, null), CancellationToken.None);
        var key = ApiKeys.Generate();
        await store.Keys.CreateKeyAsync(
            new ApiKeyRecord("k_" + Guid.NewGuid().ToString("N")[..16], user.Id, "test", ApiKeys.PrefixOf(key), ApiKeys.Hash(key), now, null, null),
            CancellationToken.None);
        var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return (user.Id, client);
    }
}
