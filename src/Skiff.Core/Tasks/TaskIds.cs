using System.Buffers;
using System.Security.Cryptography;

namespace Skiff.Core.Tasks;

/// <summary>Task ids: "t_" + 26 Crockford base32 chars (48-bit milliseconds + 80 random bits), so they sort by creation time.</summary>
public static class TaskIds
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
    private static readonly SearchValues<char> AlphabetValues = SearchValues.Create(Alphabet);

    public static string New(DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[16];
        var ms = (ulong)now.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(ms & 0xFF);
            ms >>= 8;
        }
        RandomNumberGenerator.Fill(bytes[6..]);
        return string.Create(28, bytes.ToArray(), static (chars, b) =>
        {
            chars[0] = 't';
            chars[1] = '_';
            var high = ((ulong)b[0] << 56) | ((ulong)b[1] << 48) | ((ulong)b[2] << 40) | ((ulong)b[3] << 32)
                       | ((ulong)b[4] << 24) | ((ulong)b[5] << 16) | ((ulong)b[6] << 8) | b[7];
            var low = ((ulong)b[8] << 56) | ((ulong)b[9] << 48) | ((ulong)b[10] << 40) | ((ulong)b[11] << 32)
                      | ((ulong)b[12] << 24) | ((ulong)b[13] << 16) | ((ulong)b[14] << 8) | b[15];
            // 128 bits → 26 chars of 5 bits (the first char carries 3 bits).
            for (var i = 27; i >= 2; i--)
            {
                chars[i] = Alphabet[(int)(low & 0x1F)];
                low = (low >> 5) | ((high & 0x1F) << 59);
                high >>= 5;
            }
        });
    }

    /// <summary>Rejects anything that could not be a task id before it reaches the store.</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: 28 } && id.StartsWith("t_", StringComparison.Ordinal) && id.AsSpan(2).IndexOfAnyExcept(AlphabetValues) < 0;
}
