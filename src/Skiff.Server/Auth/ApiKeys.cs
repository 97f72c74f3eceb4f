using System.Security.Cryptography;
using System.Text;

namespace Skiff.Server.Auth;

/// <summary>API key material: generated once, shown once, stored only as a SHA-256 hash.</summary>
internal static class ApiKeys
{
    public const string KeyPrefix = "sk_";

    public static string Generate() =>
        KeyPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// Keys are high-entropy random strings, so a plain SHA-256 is the right hash (no salt or slow KDF needed);
    /// lookup is by the hash, so no comparison of secret bytes happens in user-controlled time.
    /// </summary>
    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>A random id for a user ("u_") or key ("k_") record: 16 hex characters after the prefix.</summary>
    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>
    /// The public part of a key: shown in listings and used to find a key's row before its hash is compared in
    /// constant time. Generated keys give their first 10 characters (7 of 43 random ones); a short key set by
    /// hand (SKIFF_ADMIN_KEY) gives at most a quarter of itself, so the prefix never reveals the key.
    /// </summary>
    public static string PrefixOf(string key) => key.Length >= 24 ? key[..10] : key[..Math.Min(4, key.Length / 4)];

    /// <summary>Whether two key hashes are equal, in time that does not depend on where they differ.</summary>
    public static bool HashesEqual(byte[] a, byte[] b) => CryptographicOperations.FixedTimeEquals(a, b);
}
