using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Skiff.Storage.Contract;

/// <summary>
/// How an audit record is linked to the one before it; every store computes and checks it the same way.
/// <para>
/// hash = SHA-256(encoding), where the encoding is, in this fixed order: the ASCII tag <c>skiff.audit.v1</c>;
/// the previous record's hash (32 bytes; 32 zero bytes for the first record); seq and the time in unix
/// milliseconds as 8-byte big-endian integers; the outcome as a 4-byte big-endian integer; then user id, key
/// id, action, target and source, each as one byte 0 (null) or 1 followed by the 4-byte big-endian length of
/// its UTF-8 bytes and those bytes. Fixed widths and length prefixes make the encoding unambiguous: no two
/// different records encode alike (moving text from one field to the next changes the lengths).
/// </para>
/// </summary>
public static class AuditChain
{
    public const int HashSize = SHA256.HashSizeInBytes;

    private static readonly byte[] Tag = "skiff.audit.v1"u8.ToArray();
    private static readonly byte[] GenesisHash = new byte[HashSize];

    /// <summary>The "previous hash" of the first record.</summary>
    public static ReadOnlySpan<byte> Genesis => GenesisHash;

    public static byte[] ComputeHash(
        ReadOnlySpan<byte> prevHash, long seq, long atUnixMs, string? userId, string? keyId, string action, string? target, int outcome, string? source)
    {
        if (prevHash.Length != HashSize)
        {
            throw new ArgumentException($"a previous hash has {HashSize} bytes, not {prevHash.Length}", nameof(prevHash));
        }
        var length = Tag.Length + HashSize + 8 + 8 + 4
            + FieldLength(userId) + FieldLength(keyId) + FieldLength(action) + FieldLength(target) + FieldLength(source);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var buffer = rented.AsSpan(0, length);
            var at = 0;
            Tag.CopyTo(buffer);
            at += Tag.Length;
            prevHash.CopyTo(buffer[at..]);
            at += HashSize;
            BinaryPrimitives.WriteInt64BigEndian(buffer[at..], seq);
            at += 8;
            BinaryPrimitives.WriteInt64BigEndian(buffer[at..], atUnixMs);
            at += 8;
            BinaryPrimitives.WriteInt32BigEndian(buffer[at..], outcome);
            at += 4;
            at = WriteField(buffer, at, userId);
            at = WriteField(buffer, at, keyId);
            at = WriteField(buffer, at, action);
            at = WriteField(buffer, at, target);
            WriteField(buffer, at, source);
            return SHA256.HashData(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The hash <paramref name="record"/> must have, given the previous hash it claims.</summary>
    public static byte[] ComputeHash(AuditRecord record) =>
        ComputeHash(record.PrevHash, record.Seq, record.At.ToUnixTimeMilliseconds(), record.UserId, record.KeyId, record.Action,
            record.Target, record.Outcome, record.Source);

    private static int FieldLength(string? value) => value is null ? 1 : 1 + 4 + Encoding.UTF8.GetByteCount(value);

    private static int WriteField(Span<byte> buffer, int at, string? value)
    {
        if (value is null)
        {
            buffer[at] = 0;
            return at + 1;
        }
        buffer[at] = 1;
        var written = Encoding.UTF8.GetBytes(value, buffer[(at + 5)..]);
        BinaryPrimitives.WriteInt32BigEndian(buffer[(at + 1)..], written);
        return at + 5 + written;
    }
}
