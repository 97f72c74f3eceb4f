using System.Text.Json.Serialization;

namespace Skiff.Runtime.Images;

/// <summary>One version of an image: NAME:TAG and the content it names.</summary>
public sealed record ImageRecord
{
    public required string Name { get; init; }
    public required string Tag { get; init; }
    /// <summary><c>sha256:…</c> over the image's layer digests in order (built-ins: over what they are made of).</summary>
    public required string Digest { get; init; }
    /// <summary>Bytes the unpacked root file system holds.</summary>
    public long Size { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>Where it came from: <c>oci-layout</c>, <c>docker-save</c> or <c>built-in</c>.</summary>
    public required string Source { get; init; }
    public bool BuiltIn { get; init; }
    /// <summary>The root file system, relative to the store's directory.</summary>
    public required string Rootfs { get; init; }
    /// <summary>Host directories bind-mounted read-only at the same path (the <c>host</c> image: /usr and /etc).</summary>
    public IReadOnlyList<string> HostBinds { get; init; } = [];

    [JsonIgnore]
    public ImageReference Reference => new(Name, Tag);
}

internal sealed record ImageIndex
{
    public int Version { get; init; } = 1;
    public IReadOnlyList<ImageRecord> Images { get; init; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ImageIndex))]
internal sealed partial class ImageIndexJsonContext : JsonSerializerContext;
