namespace Skiff.Runtime.Containers;

/// <summary>Where the runc executor finds its tools and keeps its state.</summary>
public sealed record RuncOptions
{
    public const string DefaultRuncPath = "/usr/sbin/runc";
    // tini must be static: it is bind-mounted into images that carry no dynamic loader (busybox).
    public const string DefaultTiniPath = "/usr/bin/tini-static";

    /// <summary>The runc binary.</summary>
    public string RuncPath { get; init; } = DefaultRuncPath;

    /// <summary>A statically linked tini, bind-mounted read-only into every container as its pid 1.</summary>
    public string TiniPath { get; init; } = DefaultTiniPath;

    /// <summary>
    /// The executor's own directory (e.g. &lt;data&gt;/runc): runc's state under <c>state/</c>, one bundle per
    /// attempt under <c>bundles/</c>. Nothing else may use it.
    /// </summary>
    public required string StateRoot { get; init; }

    /// <summary>Where image root file systems live (&lt;images&gt;/&lt;name&gt;/rootfs).</summary>
    public required string ImagesDirectory { get; init; }

    /// <summary>
    /// The image store that resolves each task's image (shared with the server's image API). Null: a store over
    /// <see cref="ImagesDirectory"/> owned by the executor.
    /// </summary>
    public Images.ImageStore? Images { get; init; }

    /// <summary>The open-files limit inside containers (soft and hard); root here cannot raise it above 20000.</summary>
    public int OpenFilesLimit { get; init; } = 4096;

    /// <summary>
    /// Containers kept created and started ahead per shape just used (image, limits, user, network): 0 runs
    /// every attempt cold with <c>runc run</c>. See <see cref="WarmPool"/>.
    /// </summary>
    public int WarmPoolSize { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal string RuncStateDirectory => Path.Combine(StateRoot, "state");

    internal string BundlesDirectory => Path.Combine(StateRoot, "bundles");
}
