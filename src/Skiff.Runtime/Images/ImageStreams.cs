using System.IO.Compression;
using System.Security.Cryptography;

namespace Skiff.Runtime.Images;

/// <summary>A read-only stream that counts what passes and fails once more than a limit has been read.</summary>
internal sealed class LimitedReadStream(Stream inner, long limit, Func<string> overLimit) : Stream
{
    public long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Count(read);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Count(read);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Count(int read)
    {
        BytesRead += read;
        if (BytesRead > limit)
        {
            throw new ImageStoreException(ImageError.TooLarge, overLimit());
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Hashes (SHA-256) everything read through it.</summary>
internal sealed class HashingReadStream(Stream inner) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Reads what is left, then returns <c>sha256:…</c> of everything.</summary>
    public string Finish()
    {
        CopyTo(Null);
        return "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        _hash.AppendData(buffer[..read]);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

internal static class ImageStreams
{
    /// <summary>The stream, decompressed when it starts with the gzip magic; zstd and others are refused by name.</summary>
    public static Stream OpenMaybeCompressed(string path, string what)
    {
        var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        var read = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        file.Position = 0;
        if (read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            return new GZipStream(file, CompressionMode.Decompress);
        }
        if (read == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            file.Dispose();
            throw ImageStoreException.Invalid($"{what} is zstd-compressed, which is not supported (use gzip or none)");
        }
        return file;
    }

    public static string Sha256File(string path)
    {
        using var file = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file));
    }
}
