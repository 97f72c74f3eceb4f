namespace Skiff.Storage.Contract;

/// <summary>
/// A user. <see cref="MaxRunning"/> and <see cref="MaxQueued"/> override the server's per-user quotas when set.
/// </summary>
public sealed record UserRecord(
    string Id, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt,
    int? MaxRunning = null, int? MaxQueued = null);

public sealed record ApiKeyRecord(
    string Id, string UserId, string Name, string Prefix, byte[] Hash,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>Users and API keys. Only a hash of each key is ever stored.</summary>
public interface IKeyStore
{
    Task<UserRecord?> FindUserByNameAsync(string name, CancellationToken cancellationToken);

    Task<UserRecord?> GetUserAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Every user, disabled ones included, in creation order.</summary>
    Task<IReadOnlyList<UserRecord>> ListUsersAsync(CancellationToken cancellationToken);

    /// <summary>Creates the user; <c>null</c> when the name is taken (nothing is stored then).</summary>
    Task<UserRecord?> TryCreateUserAsync(UserRecord user, CancellationToken cancellationToken);

    Task<UserRecord> CreateUserAsync(UserRecord user, CancellationToken cancellationToken);

    /// <summary>Sets <see cref="UserRecord.DisabledAt"/> once; the user's keys stop working. False when there is no such user.</summary>
    Task<bool> DisableUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Replaces the user's quota overrides (null = the server default). False when there is no such user.</summary>
    Task<bool> SetQuotasAsync(string userId, int? maxRunning, int? maxQueued, CancellationToken cancellationToken);

    Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>All keys of a user, revoked and expired ones included, in creation order.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Revokes one key of a user. False when the user has no such key; revoking twice keeps the first time.</summary>
    Task<bool> RevokeKeyAsync(string userId, string keyId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The key with this hash and its user, if both are active at <paramref name="now"/>.</summary>
    Task<(ApiKeyRecord Key, UserRecord User)?> FindActiveKeyAsync(byte[] hash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// The active keys (with their users) whose public prefix is <paramref name="prefix"/>: the caller compares the
    /// hashes itself, in constant time, so no comparison of secret-derived bytes happens in the database.
    /// </summary>
    Task<IReadOnlyList<(ApiKeyRecord Key, UserRecord User)>> FindActiveKeysByPrefixAsync(string prefix, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Revokes every key of a user with the given name (used when SKIFF_ADMIN_KEY replaces the admin key).</summary>
    Task RevokeKeysAsync(string userId, string keyName, DateTimeOffset now, CancellationToken cancellationToken);
}
