using Skiff.Storage.Contract;

namespace Skiff.Storage.Sqlite;

internal sealed class SqliteKeyStore(SqliteTaskStore store) : IKeyStore
{
    public Task<UserRecord?> FindUserByNameAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read(s =>
        {
            using var r = s.Command("SELECT id, name, role, created_at, disabled_at FROM users WHERE name = $n").With("$n", name).ExecuteReader();
            return r.Read() ? new UserRecord(r.GetString(0), r.GetString(1), r.GetString(2),
                SqliteCommandExtensions.FromUnixMs(r.GetInt64(3)), r.GetTimeOrNull(4)) : null;
        }));

    public Task<UserRecord> CreateUserAsync(UserRecord user, CancellationToken cancellationToken) =>
        store.WriteAsync(s =>
        {
            s.Command("INSERT INTO users(id, name, role, created_at, disabled_at) VALUES ($id, $n, $r, $at, $dis)")
                .With("$id", user.Id).With("$n", user.Name).With("$r", user.Role).With("$at", user.CreatedAt.ToUnixMs())
                .With("$dis", user.DisabledAt.ToUnixMs()).ExecuteNonQuery();
            return user;
        }, cancellationToken);

    public Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command(
                "INSERT INTO api_keys(id, user_id, name, prefix, hash, created_at, expires_at, revoked_at) VALUES ($id, $u, $n, $p, $h, $at, $exp, $rev)")
            .With("$id", key.Id).With("$u", key.UserId).With("$n", key.Name).With("$p", key.Prefix).With("$h", key.Hash)
            .With("$at", key.CreatedAt.ToUnixMs()).With("$exp", key.ExpiresAt.ToUnixMs()).With("$rev", key.RevokedAt.ToUnixMs())
            .ExecuteNonQuery(), cancellationToken);

    public Task<(ApiKeyRecord Key, UserRecord User)?> FindActiveKeyAsync(byte[] hash, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<(ApiKeyRecord, UserRecord)?>(s =>
        {
            using var r = s.Command(
                    "SELECT k.id, k.user_id, k.name, k.prefix, k.hash, k.created_at, k.expires_at, k.revoked_at, " +
                    "u.name, u.role, u.created_at, u.disabled_at FROM api_keys k JOIN users u ON u.id = k.user_id " +
                    "WHERE k.hash = $h AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $now) AND u.disabled_at IS NULL")
                .With("$h", hash).With("$now", now.ToUnixMs()).ExecuteReader();
            if (!r.Read())
            {
                return null;
            }
            var key = new ApiKeyRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (byte[])r.GetValue(4),
                SqliteCommandExtensions.FromUnixMs(r.GetInt64(5)), r.GetTimeOrNull(6), r.GetTimeOrNull(7));
            var user = new UserRecord(key.UserId, r.GetString(8), r.GetString(9), SqliteCommandExtensions.FromUnixMs(r.GetInt64(10)), r.GetTimeOrNull(11));
            return (key, user);
        }));

    public Task RevokeKeysAsync(string userId, string keyName, DateTimeOffset now, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command("UPDATE api_keys SET revoked_at = $now WHERE user_id = $u AND name = $n AND revoked_at IS NULL")
            .With("$now", now.ToUnixMs()).With("$u", userId).With("$n", keyName).ExecuteNonQuery(), cancellationToken);
}
