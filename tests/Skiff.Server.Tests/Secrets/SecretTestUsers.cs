using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Skiff.Server.Auth;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Storage.Contract;

namespace Skiff.Server.Tests.Secrets;

/// <summary>A user with a key and a client that sends it; made straight in the server's store, independent of the /users API.</summary>
public sealed record SecretTestUser(string Id, HttpClient Client) : IDisposable
{
    public void Dispose() => Client.Dispose();
}

public static class SecretTestUsers
{
    public static async Task<SecretTestUser> AddUserAsync(this SkiffTestServer server, string role = "user")
    {
        var store = server.Services.GetRequiredService<ITaskStore>();
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var now = DateTimeOffset.UtcNow;
        var user = await store.Keys.CreateUserAsync(new UserRecord("u_secrets_" + suffix, "secrets-" + suffix, role, now, null), CancellationToken.None);
        var key = ApiKeys.Generate();
        await store.Keys.CreateKeyAsync(new ApiKeyRecord("k_" + suffix, user.Id, "test", ApiKeys.PrefixOf(key), ApiKeys.Hash(key), now, null, null), CancellationToken.None);
        var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return new SecretTestUser(user.Id, client);
    }
}
