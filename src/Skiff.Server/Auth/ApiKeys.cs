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

    /// <summary>The first characters, enough to tell keys apart in listings without revealing them.</summary>
    public static string PrefixOf(string key) => key.Length <= 10 ? key : key[..10];
}
