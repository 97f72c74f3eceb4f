using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Skiff.Server.Tests.Infrastructure;

/// <summary>A user made through the real /users API, with a client that sends their key.</summary>
public sealed record TestUser(string Id, string Name, string Role, string Key, string KeyId, HttpClient Client) : IDisposable
{
    public void Dispose() => Client.Dispose();
}

public static class TestUsers
{
    private static int _counter;

    /// <summary>Creates a user with a unique name (prefixed <paramref name="name"/>) and one key, as the admin.</summary>
    public static async Task<TestUser> CreateUserAsync(this SkiffTestServer server, string name, string role = "user", JsonObject? extra = null)
    {
        var body = new JsonObject { ["name"] = $"{name}-{Interlocked.Increment(ref _counter)}-{Guid.NewGuid().ToString("N")[..12]}", ["role"] = role };
        foreach (var (field, value) in extra ?? [])
        {
            body[field] = value?.DeepClone();
        }
        using var created = await server.PostJsonAsync("/users", body.ToJsonString());
        var user = await SkiffTestServer.ReadJsonAsync(created, HttpStatusCode.Created);
        var id = (string)user["id"]!;
        using var keyResponse = await server.PostJsonAsync($"/users/{id}/keys", """{"name":"test"}""");
        var key = await SkiffTestServer.ReadJsonAsync(keyResponse, HttpStatusCode.Created);
        return new TestUser(id, (string)user["name"]!, role, (string)key["key"]!, (string)key["id"]!, server.ClientWithKey((string)key["key"]!));
    }

    /// <summary>A client of the server that sends <paramref name="key"/> as its bearer key.</summary>
    public static HttpClient ClientWithKey(this SkiffTestServer server, string key)
    {
        var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
