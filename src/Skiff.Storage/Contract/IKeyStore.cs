namespace Skiff.Storage.Contract;

public sealed record UserRecord(string Id, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt);

public sealed record ApiKeyRecord(
    string Id, string UserId, string Name, string Prefix, byte[] Hash,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>Users and API keys. Only a hash of each key is ever stored.</summary>
public interface IKeyStore
{
    Task<UserRecord?> FindUserByNameAsync(string name, CancellationToken cancellationToken);

    Task<UserRecord> CreateUserAsync(UserRecord user, CancellationToken cancellationToken);

    Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>The key with this hash and its user, if both are active at <paramref name="now"/>.</summary>
    Task<(ApiKeyRecord Key, UserRecord User)?> FindActiveKeyAsync(byte[] hash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Revokes every key of a user with the given name (used when SKIFF_ADMIN_KEY replaces the admin key).</summary>
    Task RevokeKeysAsync(string userId, string keyName, DateTimeOffset now, CancellationToken cancellationToken);
}
