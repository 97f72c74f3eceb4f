using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Secrets;

/// <summary>
/// The master keys that seal secret values (AES-256-GCM), kept in DATA/secrets.key (mode 0600), one
/// "ID BASE64" line per key. The first key seals new values; the others only open values sealed before a
/// rotation. The file is created at first start and must be backed up with the database: without it the
/// stored values cannot be read by anyone.
/// </summary>
/// <remarks>
/// Each value is sealed with a fresh random nonce and with associated data binding it to its owner, name and
/// version, so a row copied onto another secret (or an older version put back) fails to open instead of
/// handing one user's value to another.
/// </remarks>
internal sealed class SecretKeyRing(ILogger<SecretKeyRing> logger)
{
    public const string FileName = "secrets.key";
    private const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private const string Header =
        "# Skiff secrets key ring (AES-256-GCM). Back it up together with skiff.db: without it no secret can be read.\n" +
        "# The first key seals new values; the others still open values sealed before a key rotation.\n";

    // Swapped whole (never mutated), so a reader always sees one consistent ring.
    private volatile Ring? _ring;
    private string? _path;

    public string Path => _path ?? throw new InvalidOperationException("the secrets key ring is not loaded");

    public string ActiveKeyId => Current.ActiveId;

    public IReadOnlyList<string> KeyIds => Current.Order;

    private Ring Current => _ring ?? throw new InvalidOperationException("the secrets key ring is not loaded");

    /// <summary>
    /// Reads DATA/secrets.key, creating it with one new key at first start. Refuses to start when the store holds
    /// values sealed with a key the file lacks (a lost or mismatched key file), rather than failing each task later.
    /// </summary>
    public async Task LoadAsync(string dataDirectory, ISecretStore secrets, CancellationToken cancellationToken)
    {
        var path = System.IO.Path.Combine(dataDirectory, FileName);
        var inUse = await secrets.KeyIdsInUseAsync(cancellationToken);
        Ring ring;
        if (File.Exists(path))
        {
            ring = Read(path);
            if ((File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                Log.SecretKeyFileExposed(logger, path);
            }
        }
        else if (inUse.Count > 0)
        {
            throw new StartupException(
                $"{path} is missing, but the store holds secrets sealed with key(s) {string.Join(", ", inUse)}: restore the key file backed up with this database");
        }
        else
        {
            ring = Ring.Create([NewKey()]);
            Write(path, ring);
            Log.SecretKeyFileCreated(logger, path);
        }
        var missing = inUse.Where(id => !ring.Keys.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            throw new StartupException(
                $"{path} lacks key(s) {string.Join(", ", missing)} that stored secrets were sealed with: restore the key file backed up with this database");
        }
        _path = path;
        _ring = ring;
    }

    public SealedSecret Seal(string owner, string name, int version, string value)
    {
        var ring = Current;
        var plaintext = Encoding.UTF8.GetBytes(value);
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagBytes];
        using (var aes = new AesGcm(ring.Keys[ring.ActiveId], TagBytes))
        {
            aes.Encrypt(nonce, plaintext, ciphertext, tag, AssociatedData(owner, name, version));
        }
        CryptographicOperations.ZeroMemory(plaintext);
        return new SealedSecret(ring.ActiveId, nonce, ciphertext, tag);
    }

    /// <summary>The plaintext; throws <see cref="SecretUnreadableException"/> when the key is unknown or the row was altered.</summary>
    public string Open(StoredSecret stored)
    {
        var (info, sealedValue) = (stored.Info, stored.Sealed);
        if (!Current.Keys.TryGetValue(sealedValue.KeyId, out var key))
        {
            throw new SecretUnreadableException(info, $"it was sealed with key '{sealedValue.KeyId}', which {FileName} does not have");
        }
        if (sealedValue.Nonce.Length != NonceBytes || sealedValue.Tag.Length != TagBytes)
        {
            throw new SecretUnreadableException(info, "the stored nonce or tag has the wrong length");
        }
        var plaintext = new byte[sealedValue.Ciphertext.Length];
        try
        {
            using var aes = new AesGcm(key, TagBytes);
            aes.Decrypt(sealedValue.Nonce, sealedValue.Ciphertext, sealedValue.Tag, plaintext, AssociatedData(info.Owner, info.Name, info.Version));
            return Encoding.UTF8.GetString(plaintext);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SecretUnreadableException(info, "authentication failed: the stored value was altered, moved from another secret, or sealed with a different key of the same id");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Rotation, step 1: a new key becomes the first (sealing) key; the old ones stay to open older values.</summary>
    public string AddActiveKey()
    {
        var ring = Current;
        var (id, key) = NewKey();
        var next = Ring.Create([(id, key), .. ring.Order.Select(o => (o, ring.Keys[o]))]);
        // On disk before any value is sealed with it: a crash never leaves a value whose key was not saved.
        Write(Path, next);
        _ring = next;
        return id;
    }

    /// <summary>Rotation, last step: forgets every key but the active one (call only when no stored value needs them).</summary>
    public IReadOnlyList<string> RemoveInactiveKeys()
    {
        var ring = Current;
        var removed = ring.Order.Where(id => id != ring.ActiveId).ToList();
        if (removed.Count == 0)
        {
            return removed;
        }
        var next = Ring.Create([(ring.ActiveId, ring.Keys[ring.ActiveId])]);
        Write(Path, next);
        _ring = next;
        return removed;
    }

    /// <summary>Length-prefixed fields, so no choice of names can make two different secrets bind the same bytes.</summary>
    private static byte[] AssociatedData(string owner, string name, int version)
    {
        string[] fields = ["skiff-secret-v1", owner, name];
        var encoded = fields.Select(Encoding.UTF8.GetBytes).ToArray();
        var data = new byte[encoded.Sum(f => 4 + f.Length) + 4];
        var at = 0;
        foreach (var field in encoded)
        {
            BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(at), field.Length);
            field.CopyTo(data, at + 4);
            at += 4 + field.Length;
        }
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(at), version);
        return data;
    }

    private static (string Id, byte[] Key) NewKey() =>
        ("k" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), RandomNumberGenerator.GetBytes(KeyBytes));

    private static Ring Read(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot read {path}: {e.Message}");
        }
        var keys = new List<(string, byte[])>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            byte[]? key = null;
            if (parts.Length != 2 || !IsKeyId(parts[0]) || !TryBase64(parts[1], out key) || key.Length != KeyBytes)
            {
                throw new StartupException($"{path} line {i + 1}: expected 'ID BASE64-OF-32-BYTES'");
            }
            if (keys.Any(k => k.Item1 == parts[0]))
            {
                throw new StartupException($"{path} line {i + 1}: key id '{parts[0]}' appears twice");
            }
            keys.Add((parts[0], key));
        }
        if (keys.Count == 0)
        {
            throw new StartupException($"{path} holds no key; restore it from the backup of this data directory");
        }
        return Ring.Create(keys);
    }

    private static bool IsKeyId(string id) => id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    private static bool TryBase64(string text, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromBase64String(text);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    /// <summary>Written to a 0600 temporary file, flushed to disk, then renamed over the old one: never half a key ring.</summary>
    private static void Write(string path, Ring ring)
    {
        var text = new StringBuilder(Header);
        foreach (var id in ring.Order)
        {
            text.Append(id).Append(' ').Append(Convert.ToBase64String(ring.Keys[id])).Append('\n');
        }
        var temp = path + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(temp, options))
        {
            stream.Write(Encoding.ASCII.GetBytes(text.ToString()));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    private sealed record Ring(string ActiveId, IReadOnlyList<string> Order, IReadOnlyDictionary<string, byte[]> Keys)
    {
        public static Ring Create(IReadOnlyList<(string Id, byte[] Key)> keys) =>
            new(keys[0].Id, keys.Select(k => k.Id).ToList(), keys.ToDictionary(k => k.Id, k => k.Key, StringComparer.Ordinal));
    }
}

/// <summary>A stored secret that cannot be opened: the key is missing, or the row was altered. Never carries the value.</summary>
internal sealed class SecretUnreadableException(SecretInfo secret, string reason)
    : Exception($"secret '{secret.Name}' ({(secret.IsShared ? "shared" : "of " + secret.Owner)}, version {secret.Version}) cannot be decrypted: {reason}")
{
    public SecretInfo Secret { get; } = secret;
}
