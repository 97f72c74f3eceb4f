using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Skiff.Server.Secrets;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Secrets;

/// <summary>DATA/secrets.key and AES-GCM sealing, against a real store file and a real key file.</summary>
public sealed class SecretKeyRingTests : IAsyncLifetime, IDisposable
{
    private const string Value = "correct horse battery staple";

    private readonly TempDirectory _directory = new();
    private SqliteTaskStore _store = null!;

    private string DataDirectory => _directory.Combine("data");

    private string KeyFile => Path.Combine(DataDirectory, SecretKeyRing.FileName);

    private static CancellationToken Ct => CancellationToken.None;

    public Task InitializeAsync()
    {
        _store = SqliteTaskStore.Open(Path.Combine(DataDirectory, "skiff.db"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose() => _directory.Dispose();

    private async Task<SecretKeyRing> LoadAsync()
    {
        var ring = new SecretKeyRing(NullLogger<SecretKeyRing>.Instance);
        await ring.LoadAsync(DataDirectory, _store.Secrets, Ct);
        return ring;
    }

    private SecretService Service(SecretKeyRing ring) => new(_store, ring, TimeProvider.System, NullLogger<SecretService>.Instance);

    private string[] KeyLines() => File.ReadAllLines(KeyFile).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    [Fact]
    public async Task LoadAsync_FirstStart_WritesOneRandom256BitKeyWithOwnerOnlyMode()
    {
        var ring = await LoadAsync();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        var line = Assert.Single(KeyLines());
        var parts = line.Split(' ');
        Assert.Equal(ring.ActiveKeyId, parts[0]);
        Assert.Equal(32, Convert.FromBase64String(parts[1]).Length);
        Assert.False(File.Exists(KeyFile + ".tmp"));
    }

    [Fact]
    public async Task LoadAsync_SecondStart_KeepsTheKeySoOldValuesOpen()
    {
        var first = await LoadAsync();
        await Service(first).PutAsync("u_alice", "db", Value, Ct);
        var fileBefore = await File.ReadAllTextAsync(KeyFile);

        var second = await LoadAsync();

        Assert.Equal(fileBefore, await File.ReadAllTextAsync(KeyFile));
        Assert.Equal(Value, second.Open((await _store.Secrets.GetAsync("u_alice", "db", Ct))!));
    }

    [Fact]
    public async Task Seal_SameValueTwice_FreshNonceAndCiphertextEachTimeNeitherHoldsThePlaintext()
    {
        var ring = await LoadAsync();

        var a = ring.Seal("u_alice", "db", 1, Value);
        var b = ring.Seal("u_alice", "db", 1, Value);

        Assert.NotEqual(a.Nonce, b.Nonce);
        Assert.NotEqual(a.Ciphertext, b.Ciphertext);
        Assert.Equal(12, a.Nonce.Length);
        Assert.Equal(16, a.Tag.Length);
        Assert.Equal(Encoding.UTF8.GetByteCount(Value), a.Ciphertext.Length);
        Assert.DoesNotContain(Value, Encoding.UTF8.GetString(a.Ciphertext), StringComparison.Ordinal);
        Assert.Equal(Value, ring.Open(Stored("u_alice", "db", 1, a)));
    }

    [Fact]
    public async Task Open_CiphertextAlteredInTheDatabase_ThrowsNamingTheSecretNotTheValue()
    {
        var ring = await LoadAsync();
        await Service(ring).PutAsync("u_alice", "db", Value, Ct);
        using (var connection = new SqliteConnection($"Data Source={_store.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // Other bytes of the same length, as a disk error or someone editing the file would leave.
            command.CommandText = "UPDATE secrets SET ciphertext = randomblob(length(ciphertext))";
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        var stored = (await _store.Secrets.GetAsync("u_alice", "db", Ct))!;

        var error = Assert.Throws<SecretUnreadableException>(() => ring.Open(stored));

        Assert.Contains("'db'", error.Message, StringComparison.Ordinal);
        Assert.Contains("authentication failed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("u_bob", "db", 1)]
    [InlineData("*", "db", 1)]
    [InlineData("u_alice", "other", 1)]
    [InlineData("u_alice", "db", 2)]
    public async Task Open_RowMovedToAnotherOwnerNameOrVersion_Throws(string owner, string name, int version)
    {
        // Guards against handing one user's value to another by copying a row: the sealed value is bound to its place.
        var ring = await LoadAsync();
        var sealedValue = ring.Seal("u_alice", "db", 1, Value);

        Assert.Throws<SecretUnreadableException>(() => ring.Open(Stored(owner, name, version, sealedValue)));
    }

    [Fact]
    public async Task Open_UnknownKeyId_ThrowsNamingTheKey()
    {
        var ring = await LoadAsync();
        var sealedValue = ring.Seal("u_alice", "db", 1, Value) with { KeyId = "k000000000000" };

        var error = Assert.Throws<SecretUnreadableException>(() => ring.Open(Stored("u_alice", "db", 1, sealedValue)));
        Assert.Contains("k000000000000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_KeyFileLostWhileTheStoreHoldsSecrets_RefusesToStartAndWritesNoNewKey()
    {
        await Service(await LoadAsync()).PutAsync("u_alice", "db", Value, Ct);
        File.Delete(KeyFile);

        var error = await Assert.ThrowsAsync<StartupException>(LoadAsync);

        Assert.Contains(KeyFile, error.Message, StringComparison.Ordinal);
        Assert.Contains("restore", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(KeyFile));
    }

    [Fact]
    public async Task LoadAsync_KeyFileOfAnotherDataDirectory_RefusesToStartNamingTheMissingKey()
    {
        var ring = await LoadAsync();
        await Service(ring).PutAsync("u_alice", "db", Value, Ct);
        var oldKey = ring.ActiveKeyId;
        File.Delete(KeyFile);
        await using (var other = SqliteTaskStore.Open(_directory.Combine("other", "skiff.db")))
        {
            await new SecretKeyRing(NullLogger<SecretKeyRing>.Instance).LoadAsync(_directory.Combine("other"), other.Secrets, Ct);
        }
        File.Copy(_directory.Combine("other", SecretKeyRing.FileName), KeyFile);

        var error = await Assert.ThrowsAsync<StartupException>(LoadAsync);

        Assert.Contains(oldKey, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("k1 not-base64!\n", "line 1")]
    [InlineData("# comment\nk1 AAAA\n", "line 2")]
    [InlineData("# only comments\n", "no key")]
    [InlineData("k1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nk1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "twice")]
    public async Task LoadAsync_MalformedKeyFile_RefusesToStartSayingWhere(string content, string expected)
    {
        Directory.CreateDirectory(DataDirectory);
        await File.WriteAllTextAsync(KeyFile, content);

        var error = await Assert.ThrowsAsync<StartupException>(LoadAsync);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RotateKeyAsync_StoredSecrets_AllResealedWithTheNewKeyAndOnlyItRemains()
    {
        var ring = await LoadAsync();
        var service = Service(ring);
        var oldKey = ring.ActiveKeyId;
        await service.PutAsync("u_alice", "db", Value, Ct);
        await service.PutAsync("u_alice", "db", Value + "-v2", Ct);
        await service.PutAsync("*", "registry", "shared value", Ct);

        var rotation = await service.RotateKeyAsync(Ct);

        Assert.NotEqual(oldKey, rotation.ActiveKeyId);
        Assert.Equal(2, rotation.Resealed);
        Assert.Equal(new[] { oldKey }, rotation.RemovedKeyIds);
        Assert.Empty(rotation.KeptKeyIds);
        Assert.Equal(new[] { rotation.ActiveKeyId }, await _store.Secrets.KeyIdsInUseAsync(Ct));
        Assert.StartsWith(rotation.ActiveKeyId + " ", Assert.Single(KeyLines()), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        // A restart reads the rotated file and opens every value, at its version.
        var restarted = await LoadAsync();
        var db = (await _store.Secrets.GetAsync("u_alice", "db", Ct))!;
        Assert.Equal(2, db.Info.Version);
        Assert.Equal(Value + "-v2", restarted.Open(db));
        Assert.Equal("shared value", restarted.Open((await _store.Secrets.GetAsync("*", "registry", Ct))!));
    }

    [Fact]
    public async Task RotateKeyAsync_AStoredValueCannotBeOpened_StopsAndKeepsEveryKey()
    {
        var ring = await LoadAsync();
        var service = Service(ring);
        var oldKey = ring.ActiveKeyId;
        await service.PutAsync("u_alice", "db", Value, Ct);
        using (var connection = new SqliteConnection($"Data Source={_store.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE secrets SET tag = zeroblob(16)";
            command.ExecuteNonQuery();
        }

        await Assert.ThrowsAsync<SecretUnreadableException>(() => service.RotateKeyAsync(Ct));

        Assert.Equal(2, KeyLines().Length);
        Assert.Contains(KeyLines(), l => l.StartsWith(oldKey + " ", StringComparison.Ordinal));
    }

    private static StoredSecret Stored(string owner, string name, int version, SealedSecret sealedValue) =>
        new(new SecretInfo(owner, name, version, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch), sealedValue);
}
