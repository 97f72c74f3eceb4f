using Microsoft.Data.Sqlite;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Sqlite;

internal sealed class SqliteSecretStore(SqliteTaskStore store) : ISecretStore
{
    private const string Columns = "owner, name, version, created_at, updated_at, key_id, nonce, ciphertext, tag";

    public Task<(SecretInfo Secret, bool Created)> PutAsync(string owner, string name, DateTimeOffset now, Func<int, SealedSecret> seal, CancellationToken cancellationToken) =>
        store.WriteAsync(s =>
        {
            SecretInfo? existing;
            using (var r = s.Command($"SELECT {Columns} FROM secrets WHERE owner = $o AND name = $n").With("$o", owner).With("$n", name).ExecuteReader())
            {
                existing = r.Read() ? MapInfo(r) : null;
            }
            var version = (existing?.Version ?? 0) + 1;
            var sealedValue = seal(version);
            var at = now.ToUnixMs();
            s.Command(
                    "INSERT INTO secrets(owner, name, version, created_at, updated_at, key_id, nonce, ciphertext, tag) " +
                    "VALUES ($o, $n, $v, $at, $at, $k, $nonce, $c, $t) " +
                    "ON CONFLICT(owner, name) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, " +
                    "key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, tag = excluded.tag")
                .With("$o", owner).With("$n", name).With("$v", version).With("$at", at).With("$k", sealedValue.KeyId)
                .With("$nonce", sealedValue.Nonce).With("$c", sealedValue.Ciphertext).With("$t", sealedValue.Tag)
                .ExecuteNonQuery();
            var info = new SecretInfo(owner, name, version, existing?.CreatedAt ?? SqliteCommandExtensions.FromUnixMs(at), SqliteCommandExtensions.FromUnixMs(at));
            return (info, existing is null);
        }, cancellationToken);

    public Task<StoredSecret?> GetAsync(string owner, string name, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read(s =>
        {
            using var r = s.Command($"SELECT {Columns} FROM secrets WHERE owner = $o AND name = $n").With("$o", owner).With("$n", name).ExecuteReader();
            return r.Read() ? MapStored(r) : null;
        }));

    public Task<IReadOnlyList<SecretInfo>> ListAsync(IReadOnlyCollection<string> owners, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<IReadOnlyList<SecretInfo>>(s =>
        {
            var found = new List<SecretInfo>();
            foreach (var owner in owners.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                using var r = s.Command($"SELECT {Columns} FROM secrets WHERE owner = $o ORDER BY name").With("$o", owner).ExecuteReader();
                while (r.Read())
                {
                    found.Add(MapInfo(r));
                }
            }
            return found;
        }));

    public Task<bool> DeleteAsync(string owner, string name, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command("DELETE FROM secrets WHERE owner = $o AND name = $n").With("$o", owner).With("$n", name).ExecuteNonQuery() > 0,
            cancellationToken);

    public Task<IReadOnlyList<StoredSecret>> ListSealedWithOtherKeysAsync(string keyId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<IReadOnlyList<StoredSecret>>(s =>
        {
            var found = new List<StoredSecret>();
            using var r = s.Command($"SELECT {Columns} FROM secrets WHERE key_id <> $k ORDER BY owner, name LIMIT $limit")
                .With("$k", keyId).With("$limit", limit).ExecuteReader();
            while (r.Read())
            {
                found.Add(MapStored(r));
            }
            return found;
        }));

    public Task<bool> ResealAsync(StoredSecret current, SealedSecret replacement, CancellationToken cancellationToken) =>
        store.WriteAsync(s => s.Command(
                "UPDATE secrets SET key_id = $k, nonce = $nonce, ciphertext = $c, tag = $t " +
                "WHERE owner = $o AND name = $n AND version = $v AND key_id = $old")
            .With("$k", replacement.KeyId).With("$nonce", replacement.Nonce).With("$c", replacement.Ciphertext).With("$t", replacement.Tag)
            .With("$o", current.Info.Owner).With("$n", current.Info.Name).With("$v", current.Info.Version).With("$old", current.Sealed.KeyId)
            .ExecuteNonQuery() > 0, cancellationToken);

    // Read by the writer, after every write queued before this call: a value sealed just before a key rotation
    // switched keys is seen here even if its transaction had not committed yet when the call began.
    public Task<IReadOnlyList<string>> KeyIdsInUseAsync(CancellationToken cancellationToken) =>
        store.WriteAsync<IReadOnlyList<string>>(s =>
        {
            var ids = new List<string>();
            using var r = s.Command("SELECT DISTINCT key_id FROM secrets ORDER BY key_id").ExecuteReader();
            while (r.Read())
            {
                ids.Add(r.GetString(0));
            }
            return ids;
        }, cancellationToken);

    private static SecretInfo MapInfo(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), SqliteCommandExtensions.FromUnixMs(r.GetInt64(3)), SqliteCommandExtensions.FromUnixMs(r.GetInt64(4)));

    private static StoredSecret MapStored(SqliteDataReader r) =>
        new(MapInfo(r), new SealedSecret(r.GetString(5), r.GetFieldValue<byte[]>(6), r.GetFieldValue<byte[]>(7), r.GetFieldValue<byte[]>(8)));
}
