namespace Skiff.Runtime.Images;

/// <summary>What went wrong with an image operation; the API maps each onto a status.</summary>
public enum ImageError
{
    /// <summary>The name, or the archive (malformed, hostile, unsupported).</summary>
    Invalid,
    NotFound,
    /// <summary>The tag exists with other content (tags are immutable unless forced).</summary>
    TagExists,
    /// <summary>Built-in images cannot be removed or replaced.</summary>
    BuiltIn,
    /// <summary>Over the configured archive or unpacked size.</summary>
    TooLarge,
}

/// <summary>An image operation refused; the message names what is at fault and is safe to show the caller.</summary>
public sealed class ImageStoreException : Exception
{
    public ImageStoreException(ImageError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    public ImageStoreException()
    {
    }

    public ImageStoreException(string message)
        : base(message)
    {
    }

    public ImageStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ImageError Error { get; }

    internal static ImageStoreException Invalid(string message, Exception? inner = null) => new(ImageError.Invalid, message, inner);
}
