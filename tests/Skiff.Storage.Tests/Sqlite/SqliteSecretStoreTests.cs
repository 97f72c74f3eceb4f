using Skiff.Storage.Contract;

namespace Skiff.Storage.Tests.Sqlite;

/// <summary>
/// The secrets table keeps what the caller sealed, keyed by (owner, name), with versions the store assigns. The
/// sealed bytes here are arbitrary: encryption is the server's (see the server's SecretKeyRing tests).
/// </summary>
public sealed class SqliteSecretStoreTests : StoreTestBase
{
    private static SealedSecret Sealed(string keyId, byte fill, int length = 16) =>
        new(keyId, Enumerable.Repeat(fill, 12).ToArray(), Enumerable.Repeat(fill, length).ToArray(), Enumerable.Repeat((byte)(fill + 1), 16).ToArray());

    private Task<(SecretInfo Secret, bool Created)> PutAsync(string owner, string name, string keyId = "k1", byte fill = 7) =>
        Store.Secrets.PutAsync(owner, name, Now, _ => Sealed(keyId, fill), Ct);

    [Fact]
    public async Task PutAsync_NewThenReopened_StoredBytesRoundTripAtVersion1()
    {
        var versions = new List<int>();
        var (secret, created) = await Store.Secrets.PutAsync("u_alice", "db-creds", Now, v =>
        {
            versions.Add(v);
            return Sealed("k1", 9, length: 300);
        }, Ct);
        await ReopenAsync();

        var stored = await Store.Secrets.GetAsync("u_alice", "db-creds", Ct);

        Assert.True(created);
        Assert.Equal(new[] { 1 }, versions);
        Assert.Equal(new SecretInfo("u_alice", "db-creds", 1, Now, Now), secret);
        Assert.NotNull(stored);
        Assert.Equal(secret, stored.Info);
        var expected = Sealed("k1", 9, length: 300);
        Assert.Equal("k1", stored.Sealed.KeyId);
        Assert.Equal(expected.Nonce, stored.Sealed.Nonce);
        Assert.Equal(expected.Ciphertext, stored.Sealed.Ciphertext);
        Assert.Equal(expected.Tag, stored.Sealed.Tag);
    }

    [Fact]
    public async Task PutAsync_SameNameAgain_VersionIncrementsAndCreatedAtKept()
    {
        var first = (await PutAsync("u_alice", "token", fill: 1)).Secret;
        Time.Advance(TimeSpan.FromMinutes(5));

        var (second, created) = await PutAsync("u_alice", "token", fill: 2);
        var (third, _) = await PutAsync("u_alice", "token", fill: 3);

        Assert.False(created);
        Assert.Equal(2, second.Version);
        Assert.Equal(3, third.Version);
        Assert.Equal(first.CreatedAt, third.CreatedAt);
        Assert.Equal(Now, third.UpdatedAt);
        var stored = await Store.Secrets.GetAsync("u_alice", "token", Ct);
        Assert.Equal(third, stored!.Info);
        Assert.Equal(Sealed("k1", 3).Ciphertext, stored.Sealed.Ciphertext);
        Assert.Equal(1, RawCount("SELECT COUNT(*) FROM secrets"));
    }

    [Fact]
    public async Task PutAsync_SealThrows_NothingStored()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Store.Secrets.PutAsync("u_alice", "broken", Now, _ => throw new InvalidOperationException("no key"), Ct));

        Assert.Null(await Store.Secrets.GetAsync("u_alice", "broken", Ct));
        Assert.Equal(0, RawCount("SELECT COUNT(*) FROM secrets"));
    }

    [Fact]
    public async Task GetAsync_SameNameOtherOwner_Null()
    {
        await PutAsync("u_alice", "token");

        Assert.Null(await Store.Secrets.GetAsync("u_bob", "token", Ct));
        Assert.Null(await Store.Secrets.GetAsync(SecretInfo.SharedOwner, "token", Ct));
        Assert.Null(await Store.Secrets.GetAsync("u_alice", "TOKEN", Ct));
    }

    [Fact]
    public async Task ListAsync_GivenOwners_OnlyTheirsByOwnerThenName()
    {
        await PutAsync("u_alice", "zeta");
        await PutAsync("u_alice", "alpha");
        await PutAsync("u_bob", "bobs");
        await PutAsync(SecretInfo.SharedOwner, "registry");

        var listed = await Store.Secrets.ListAsync(["u_alice", SecretInfo.SharedOwner], Ct);

        Assert.Equal(new[] { "*/registry", "u_alice/alpha", "u_alice/zeta" }, listed.Select(s => $"{s.Owner}/{s.Name}"));
        Assert.True(listed[0].IsShared);
    }

    [Fact]
    public async Task DeleteAsync_ExistingThenMissing_TrueThenFalse()
    {
        await PutAsync("u_alice", "token");
        await PutAsync("u_bob", "token");

        Assert.True(await Store.Secrets.DeleteAsync("u_alice", "token", Ct));
        Assert.False(await Store.Secrets.DeleteAsync("u_alice", "token", Ct));

        Assert.Null(await Store.Secrets.GetAsync("u_alice", "token", Ct));
        Assert.NotNull(await Store.Secrets.GetAsync("u_bob", "token", Ct));
    }

    [Fact]
    public async Task PutAsync_AfterDelete_StartsAgainAtVersion1()
    {
        await PutAsync("u_alice", "token");
        await PutAsync("u_alice", "token");
        await Store.Secrets.DeleteAsync("u_alice", "token", Ct);

        var (secret, created) = await PutAsync("u_alice", "token");

        Assert.True(created);
        Assert.Equal(1, secret.Version);
    }

    [Fact]
    public async Task ListSealedWithOtherKeysAsync_MixedKeys_OnlyOthersUpToTheLimit()
    {
        await PutAsync("u_alice", "a", keyId: "old");
        await PutAsync("u_alice", "b", keyId: "new");
        await PutAsync("u_bob", "c", keyId: "older");

        var others = await Store.Secrets.ListSealedWithOtherKeysAsync("new", 10, Ct);
        var limited = await Store.Secrets.ListSealedWithOtherKeysAsync("new", 1, Ct);

        Assert.Equal(new[] { "a:old", "c:older" }, others.Select(s => $"{s.Info.Name}:{s.Sealed.KeyId}"));
        Assert.Single(limited);
        Assert.Equal(new[] { "new", "old", "older" }, await Store.Secrets.KeyIdsInUseAsync(Ct));
    }

    [Fact]
    public async Task ResealAsync_UnchangedRow_ReplacesSealedValueAndKeepsVersion()
    {
        await PutAsync("u_alice", "token", keyId: "old", fill: 1);
        var current = (await Store.Secrets.GetAsync("u_alice", "token", Ct))!;

        Assert.True(await Store.Secrets.ResealAsync(current, Sealed("new", 5), Ct));

        var after = (await Store.Secrets.GetAsync("u_alice", "token", Ct))!;
        Assert.Equal(current.Info, after.Info);
        Assert.Equal("new", after.Sealed.KeyId);
        Assert.Equal(Sealed("new", 5).Ciphertext, after.Sealed.Ciphertext);
        Assert.Equal(new[] { "new" }, await Store.Secrets.KeyIdsInUseAsync(Ct));
    }

    [Fact]
    public async Task ResealAsync_RowRewrittenMeanwhile_FalseAndNewerValueKept()
    {
        // Guards rotation against overwriting a value set while it ran with the older value sealed again.
        await PutAsync("u_alice", "token", keyId: "old", fill: 1);
        var read = (await Store.Secrets.GetAsync("u_alice", "token", Ct))!;
        await PutAsync("u_alice", "token", keyId: "new", fill: 2);

        Assert.False(await Store.Secrets.ResealAsync(read, Sealed("new", 9), Ct));

        var after = (await Store.Secrets.GetAsync("u_alice", "token", Ct))!;
        Assert.Equal(2, after.Info.Version);
        Assert.Equal(Sealed("new", 2).Ciphertext, after.Sealed.Ciphertext);
    }

    [Fact]
    public async Task ResealAsync_Deleted_FalseAndNothingCreated()
    {
        await PutAsync("u_alice", "token", keyId: "old");
        var read = (await Store.Secrets.GetAsync("u_alice", "token", Ct))!;
        await Store.Secrets.DeleteAsync("u_alice", "token", Ct);

        Assert.False(await Store.Secrets.ResealAsync(read, Sealed("new", 9), Ct));
        Assert.Equal(0, RawCount("SELECT COUNT(*) FROM secrets"));
    }
}
