using Microsoft.Data.Sqlite;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Sqlite;

internal sealed class SqliteKeyStore(SqliteTaskStore store) : IKeyStore
{
    private const string UserColumns = "id, name, role, created_at, disabled_at, max_running, max_queued";
    private const string KeyColumns = "k.id, k.user_id, k.name, k.prefix, k.hash, k.created_at, k.expires_at, k.revoked_at";
    private const string ActiveKeyJoin =
        $"SELECT {KeyColumns}, u.id, u.name, u.role, u.created_at, u.disabled_at, u.max_running, u.max_queued " +
        "FROM api_keys k JOIN users u ON u.id = k.user_id " +
        "WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $now) AND u.disabled_at IS NULL";

    public Task<UserRecord?> FindUserByNameAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read(s => ReadUsers(s.Command($"SELECT {UserColumns} FROM users WHERE name = $n").With("$n", name)).SingleOrDefault()));

    public Task<UserRecord?> GetUserAsync(string userId, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read(s => ReadUsers(s.Command($"SELECT {UserColumns} FROM users WHERE id = $id").With("$id", userId)).SingleOrDefault()));

    public Task<IReadOnlyList<UserRecord>> ListUsersAsync(CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<IReadOnlyList<UserRecord>>(s => ReadUsers(s.Command($"SELECT {UserColumns} FROM users ORDER BY created_at, id"))));

    public Task<UserRecord?> TryCreateUserAsync(UserRecord user, CancellationToken cancellationToken) =>
        store.WriteAsync(s =>
        {
            var inserted = s.Command(
                    "INSERT INTO users(id, name, role, created_at, disabled_at, max_running, max_queued) " +
                    "VALUES ($id, $n, $r, $at, $dis, $mr, $mq) ON CONFLICT DO NOTHING")
                .With("$id", user.Id).With("$n", user.Name).With("$r", user.Role).With("$at", user.CreatedAt.ToUnixMs())
                .With("$dis", user.DisabledAt.ToUnixMs()).With("$mr", user.MaxRunning).With("$mq", user.MaxQueued).ExecuteNonQuery();
            return inserted == 1 ? user : null;
        }, cancellationToken);

    public async Task<UserRecord> CreateUserAsync(UserRecord user, CancellationToken cancellationToken) =>
        await TryCreateUserAsync(user, cancellationToken)
        ?? throw new SqliteException($"a user named '{user.Name}' or with id '{user.Id}' already exists", 19);

    public Task<bool> DisableUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command("UPDATE users SET disabled_at = COALESCE(disabled_at, $now) WHERE id = $id")
            .With("$now", now.ToUnixMs()).With("$id", userId).ExecuteNonQuery() == 1, cancellationToken);

    public Task<bool> SetQuotasAsync(string userId, int? maxRunning, int? maxQueued, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command("UPDATE users SET max_running = $mr, max_queued = $mq WHERE id = $id")
            .With("$mr", maxRunning).With("$mq", maxQueued).With("$id", userId).ExecuteNonQuery() == 1, cancellationToken);

    public Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command(
                "INSERT INTO api_keys(id, user_id, name, prefix, hash, created_at, expires_at, revoked_at) VALUES ($id, $u, $n, $p, $h, $at, $exp, $rev)")
            .With("$id", key.Id).With("$u", key.UserId).With("$n", key.Name).With("$p", key.Prefix).With("$h", key.Hash)
            .With("$at", key.CreatedAt.ToUnixMs()).With("$exp", key.ExpiresAt.ToUnixMs()).With("$rev", key.RevokedAt.ToUnixMs())
            .ExecuteNonQuery(), cancellationToken);

    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string userId, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<IReadOnlyList<ApiKeyRecord>>(s =>
        {
            using var r = s.Command($"SELECT {KeyColumns} FROM api_keys k WHERE k.user_id = $u ORDER BY k.created_at, k.id").With("$u", userId).ExecuteReader();
            var keys = new List<ApiKeyRecord>();
            while (r.Read())
            {
                keys.Add(ReadKey(r));
            }
            return keys;
        }));

    public Task<bool> RevokeKeyAsync(string userId, string keyId, DateTimeOffset now, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $now) WHERE user_id = $u AND id = $id")
            .With("$now", now.ToUnixMs()).With("$u", userId).With("$id", keyId).ExecuteNonQuery() == 1, cancellationToken);

    public Task<(ApiKeyRecord Key, UserRecord User)?> FindActiveKeyAsync(byte[] hash, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<(ApiKeyRecord, UserRecord)?>(s =>
            ReadActive(s.Command(ActiveKeyJoin + " AND k.hash = $h").With("$h", hash).With("$now", now.ToUnixMs())) is [var found] ? found : null));

    public Task<IReadOnlyList<(ApiKeyRecord Key, UserRecord User)>> FindActiveKeysByPrefixAsync(string prefix, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<IReadOnlyList<(ApiKeyRecord, UserRecord)>>(s =>
            ReadActive(s.Command(ActiveKeyJoin + " AND k.prefix = $p").With("$p", prefix).With("$now", now.ToUnixMs()))));

    public Task RevokeKeysAsync(string userId, string keyName, DateTimeOffset now, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command("UPDATE api_keys SET revoked_at = $now WHERE user_id = $u AND name = $n AND revoked_at IS NULL")
            .With("$now", now.ToUnixMs()).With("$u", userId).With("$n", keyName).ExecuteNonQuery(), cancellationToken);

    private static List<UserRecord> ReadUsers(SqliteCommand command)
    {
        using var r = command.ExecuteReader();
        var users = new List<UserRecord>();
        while (r.Read())
        {
            users.Add(ReadUser(r, 0));
        }
        return users;
    }

    private static List<(ApiKeyRecord, UserRecord)> ReadActive(SqliteCommand command)
    {
        using var r = command.ExecuteReader();
        var found = new List<(ApiKeyRecord, UserRecord)>();
        while (r.Read())
        {
            found.Add((ReadKey(r), ReadUser(r, 8)));
        }
        return found;
    }

    private static UserRecord ReadUser(SqliteDataReader r, int at) =>
        new(r.GetString(at), r.GetString(at + 1), r.GetString(at + 2), SqliteCommandExtensions.FromUnixMs(r.GetInt64(at + 3)),
            r.GetTimeOrNull(at + 4), r.GetInt32OrNull(at + 5), r.GetInt32OrNull(at + 6));

    private static ApiKeyRecord ReadKey(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (byte[])r.GetValue(4),
            SqliteCommandExtensions.FromUnixMs(r.GetInt64(5)), r.GetTimeOrNull(6), r.GetTimeOrNull(7));
}
