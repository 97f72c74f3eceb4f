namespace Skiff.Cli.Client;

/// <summary>An image version as <c>GET /images</c> lists it.</summary>
internal sealed record ImageDocument(string Name, string Tag, string Digest, long Size, DateTimeOffset CreatedAt, bool BuiltIn, string Source);

internal sealed record ImageList(IReadOnlyList<ImageDocument> Items);

/// <summary>The answer of <c>POST /images</c>: outcome is created, replaced or unchanged.</summary>
internal sealed record ImageImportDocument(ImageDocument Image, string Outcome, IReadOnlyList<ImageDocument> Pruned);
