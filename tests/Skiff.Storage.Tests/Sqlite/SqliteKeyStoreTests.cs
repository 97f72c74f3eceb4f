using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Tests.Sqlite;

public sealed class SqliteKeyStoreTests : StoreTestBase
{
    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private async Task<UserRecord> UserAsync(string name, DateTimeOffset? disabledAt = null) =>
        await Store.Keys.CreateUserAsync(new UserRecord($"u_{name}", name, "user", Now, disabledAt), Ct);

    private async Task<ApiKeyRecord> KeyAsync(UserRecord user, string secret, string name = "default", DateTimeOffset? expiresAt = null)
    {
        var key = new ApiKeyRecord($"k_{secret}", user.Id, name, secret[..6], Hash(secret), Now, expiresAt, null);
        await Store.Keys.CreateKeyAsync(key, Ct);
        return key;
    }

    [Fact]
    public async Task CreateUserAsync_ThenFindByName_RoundTrips()
    {
        var created = await UserAsync("alice");
        await ReopenAsync();

        var found = await Store.Keys.FindUserByNameAsync("alice", Ct);

        Assert.Equal(created, found);
        Assert.Null(await Store.Keys.FindUserByNameAsync("Alice", Ct));
        Assert.Null(await Store.Keys.FindUserByNameAsync("bob", Ct));
    }

    [Fact]
    public async Task CreateUserAsync_DuplicateName_Refused()
    {
        await UserAsync("alice");

        var error = await Assert.ThrowsAsync<SqliteException>(() =>
            Store.Keys.CreateUserAsync(new UserRecord("u_other", "alice", "admin", Now, null), Ct));
        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT
    }

    [Fact]
    public async Task FindActiveKeyAsync_ByHash_KeyAndUser()
    {
        var user = await UserAsync("alice");
        var key = await KeyAsync(user, "sk_live_0123456789", expiresAt: Now + TimeSpan.FromDays(30));

        var found = await Store.Keys.FindActiveKeyAsync(Hash("sk_live_0123456789"), Now, Ct);

        Assert.NotNull(found);
        Assert.Equal(key.Id, found.Value.Key.Id);
        Assert.Equal(key.UserId, found.Value.Key.UserId);
        Assert.Equal(key.Name, found.Value.Key.Name);
        Assert.Equal(key.Prefix, found.Value.Key.Prefix);
        Assert.Equal(key.Hash, found.Value.Key.Hash);
        Assert.Equal(key.CreatedAt, found.Value.Key.CreatedAt);
        Assert.Equal(key.ExpiresAt, found.Value.Key.ExpiresAt);
        Assert.Null(found.Value.Key.RevokedAt);
        Assert.Equal(user, found.Value.User);
    }

    [Fact]
    public async Task FindActiveKeyAsync_UnknownHash_Null()
    {
        await KeyAsync(await UserAsync("alice"), "sk_live_0123456789");

        Assert.Null(await Store.Keys.FindActiveKeyAsync(Hash("sk_live_0123456780"), Now, Ct));
    }

    [Fact]
    public async Task FindActiveKeyAsync_RevokedKey_NullButOtherKeysOfTheUserStillWork()
    {
        var user = await UserAsync("admin");
        await KeyAsync(user, "sk_admin_old", name: "bootstrap");
        await KeyAsync(user, "sk_admin_cli", name: "cli");

        await Store.Keys.RevokeKeysAsync(user.Id, "bootstrap", Now, Ct);

        Assert.Null(await Store.Keys.FindActiveKeyAsync(Hash("sk_admin_old"), Now, Ct));
        Assert.NotNull(await Store.Keys.FindActiveKeyAsync(Hash("sk_admin_cli"), Now, Ct));
    }

    [Fact]
    public async Task FindActiveKeyAsync_ExpiredKey_NullFromTheExpiryOn()
    {
        var expiresAt = Now + TimeSpan.FromHours(1);
        await KeyAsync(await UserAsync("alice"), "sk_live_expiring", expiresAt: expiresAt);

        Assert.NotNull(await Store.Keys.FindActiveKeyAsync(Hash("sk_live_expiring"), expiresAt - TimeSpan.FromMilliseconds(1), Ct));
        Assert.Null(await Store.Keys.FindActiveKeyAsync(Hash("sk_live_expiring"), expiresAt, Ct));
        Assert.Null(await Store.Keys.FindActiveKeyAsync(Hash("sk_live_expiring"), expiresAt + TimeSpan.FromDays(1), Ct));
    }

    [Fact]
    public async Task FindActiveKeyAsync_DisabledUser_Null()
    {
        // Regression: CreateUserAsync dropped DisabledAt, so a user created disabled could still sign in.
        var disabled = await UserAsync("mallory", disabledAt: Now - TimeSpan.FromDays(1));
        await KeyAsync(disabled, "sk_live_mallory");

        Assert.Null(await Store.Keys.FindActiveKeyAsync(Hash("sk_live_mallory"), Now, Ct));
        Assert.Equal(disabled.DisabledAt, (await Store.Keys.FindUserByNameAsync("mallory", Ct))?.DisabledAt);
    }

    [Fact]
    public async Task CreateKeyAsync_AlreadyRevokedRecord_NeverActive()
    {
        // Regression: CreateKeyAsync dropped RevokedAt along with the rest of the record's state.
        var user = await UserAsync("alice");
        var key = new ApiKeyRecord("k_revoked", user.Id, "old", "sk_old", Hash("sk_old_key"), Now, null, Now);

        await Store.Keys.CreateKeyAsync(key, Ct);

        Assert.Null(await Store.Keys.FindActiveKeyAsync(Hash("sk_old_key"), Now, Ct));
    }

    [Fact]
    public async Task CreateKeyAsync_SameHashTwice_Refused()
    {
        var user = await UserAsync("alice");
        await KeyAsync(user, "sk_live_same");

        await Assert.ThrowsAsync<SqliteException>(() =>
            Store.Keys.CreateKeyAsync(new ApiKeyRecord("k_other", user.Id, "other", "sk_liv", Hash("sk_live_same"), Now, null, null), Ct));
    }
}
