using Skiff.Runtime.Images;

namespace Skiff.Server.Images;

/// <summary>One version of an image as the API shows it.</summary>
public sealed record ImageDocument(string Name, string Tag, string Digest, long Size, DateTimeOffset CreatedAt, bool BuiltIn, string Source)
{
    internal static ImageDocument From(ImageRecord image) =>
        new(image.Name, image.Tag, image.Digest, image.Size, image.CreatedAt, image.BuiltIn, image.Source);
}

public sealed record ImageListDocument(IReadOnlyList<ImageDocument> Items);

/// <summary>The answer of POST /images: <c>outcome</c> is created, replaced or unchanged.</summary>
public sealed record ImageImportDocument(ImageDocument Image, string Outcome, IReadOnlyList<ImageDocument> Pruned);
