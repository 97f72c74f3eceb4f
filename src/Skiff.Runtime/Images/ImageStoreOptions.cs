namespace Skiff.Runtime.Images;

/// <summary>Where the image store lives and how much it accepts.</summary>
public sealed record ImageStoreOptions
{
    /// <summary>&lt;data&gt;/images: the index, unpacked root file systems, staging and upload areas.</summary>
    public required string Directory { get; init; }

    /// <summary>The largest image archive accepted (as uploaded: the outer tar, compressed layers inside).</summary>
    public long MaxArchiveBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>The most bytes all layers of an image may unpack to (tar headers included).</summary>
    public long MaxUnpackedBytes { get; init; } = 8L * 1024 * 1024 * 1024;

    /// <summary>How many versions (tags) of one name are kept; importing one more removes the oldest.</summary>
    public int KeepVersions { get; init; } = 10;

    /// <summary>The host's static busybox, from which the built-in <c>busybox</c> image is made.</summary>
    public string BusyboxPath { get; init; } = Containers.BusyboxImage.DefaultBusyboxPath;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
