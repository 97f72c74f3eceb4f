using System.Text.Json.Serialization;
using Skiff.Storage.Contract;

namespace Skiff.Server.Users;

/// <summary>The body of POST /users.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UserRequest
{
    public string? Name { get; init; }
    public string? Role { get; init; }
    public int? MaxRunning { get; init; }
    public int? MaxQueued { get; init; }
}

/// <summary>The body of PUT /users/{id}/quotas: null (or absent) means the server's default.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record QuotaRequest
{
    public int? MaxRunning { get; init; }
    public int? MaxQueued { get; init; }
}

/// <summary>The body of POST /users/{id}/keys; <see cref="ExpiresAt"/> is an ISO 8601 time.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record KeyRequest
{
    public string? Name { get; init; }
    public string? ExpiresAt { get; init; }
}

public sealed record UserDocument(
    string Id, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt, int? MaxRunning, int? MaxQueued)
{
    public static UserDocument From(UserRecord user) =>
        new(user.Id, user.Name, user.Role, user.CreatedAt, user.DisabledAt, user.MaxRunning, user.MaxQueued);
}

public sealed record UserListDocument(IReadOnlyList<UserDocument> Items);

/// <summary>A key as listed: never any secret material, only the public prefix.</summary>
public sealed record KeyDocument(
    string Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt)
{
    public static KeyDocument From(ApiKeyRecord key) => new(key.Id, key.Name, key.Prefix, key.CreatedAt, key.ExpiresAt, key.RevokedAt);
}

public sealed record KeyListDocument(IReadOnlyList<KeyDocument> Items);

/// <summary>The answer to POST /users/{id}/keys: the only time <see cref="Key"/> is ever shown.</summary>
public sealed record CreatedKeyDocument(string Id, string Name, string Key, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);
