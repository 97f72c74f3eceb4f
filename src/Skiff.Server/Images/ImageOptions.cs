using System.ComponentModel.DataAnnotations;

namespace Skiff.Server.Images;

/// <summary>Limits of the image store, bound from "Skiff:Images".</summary>
public sealed class ImageOptions
{
    public const string Section = "Skiff:Images";

    /// <summary>The largest image archive accepted (upload or CLI import).</summary>
    [Range(1, 1024 * 1024)]
    public long MaxArchiveMb { get; set; } = 2048;

    /// <summary>The most an image may unpack to.</summary>
    [Range(1, 16 * 1024 * 1024)]
    public long MaxUnpackedMb { get; set; } = 8192;

    /// <summary>Versions (tags) kept per image name; importing one more removes the oldest.</summary>
    [Range(1, 1000)]
    public int KeepVersions { get; set; } = 10;
}
