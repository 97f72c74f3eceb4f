using System.Diagnostics;

namespace Skiff.Runtime.Containers;

/// <summary>
/// The built-in <c>busybox</c> image: a root file system made from the host's static busybox, built once
/// and shared read-only by every container that uses it.
/// </summary>
public static class BusyboxImage
{
    public const string Name = "busybox";
    public const string DefaultBusyboxPath = "/usr/bin/busybox";

    private const UnixFileMode Directory755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private const UnixFileMode File644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    // Mount points: the root is read-only, so whatever a container mounts must already exist.
    private static readonly string[] Directories = ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "work", "output", "proc", "sys", "dev", "root", ".skiff"];

    /// <summary>The rootfs directory of the image under <paramref name="imagesDirectory"/>.</summary>
    public static string RootfsPath(string imagesDirectory) => Path.Combine(imagesDirectory, Name, "rootfs");

    /// <summary>
    /// Builds &lt;images&gt;/busybox/rootfs unless it exists, and returns its path. Built in a temporary
    /// directory and renamed into place, so a crash never leaves a half-built image that looks complete.
    /// </summary>
    public static async Task<string> EnsureAsync(string imagesDirectory, string busyboxPath = DefaultBusyboxPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesDirectory);
        var rootfs = RootfsPath(imagesDirectory);
        if (Directory.Exists(rootfs))
        {
            return rootfs;
        }
        if (!File.Exists(busyboxPath))
        {
            throw new FileNotFoundException($"busybox not found at {busyboxPath} (install busybox-static)", busyboxPath);
        }

        var applets = await ListAppletsAsync(busyboxPath, cancellationToken).ConfigureAwait(false);
        return RootfsDirectory.BuildOnce(rootfs, building => Build(building, busyboxPath, applets));
    }

    /// <summary>Removes half-built images a crash left behind.</summary>
    internal static void RemoveStaleBuilds(string imagesDirectory)
    {
        var imageDirectory = Path.Combine(imagesDirectory, Name);
        if (!Directory.Exists(imageDirectory))
        {
            return;
        }
        foreach (var stale in Directory.EnumerateDirectories(imageDirectory, RootfsDirectory.BuildingPrefix + "*"))
        {
            Directory.Delete(stale, recursive: true);
        }
    }

    private static void Build(string root, string busyboxPath, IReadOnlyList<string> applets)
    {
        Directory.CreateDirectory(root, Directory755);
        foreach (var directory in Directories)
        {
            Directory.CreateDirectory(Path.Combine(root, directory), Directory755);
        }
        File.SetUnixFileMode(Path.Combine(root, "tmp"), Directory755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit);

        var busybox = Path.Combine(root, "bin", "busybox");
        File.Copy(busyboxPath, busybox);
        File.SetUnixFileMode(busybox, Directory755);
        foreach (var applet in applets)
        {
            // --list-full names paths relative to the root ("usr/bin/awk"); anything else is not trusted.
            if (applet.Length == 0 || applet.StartsWith('/') || applet.Contains("..", StringComparison.Ordinal) || applet == "bin/busybox")
            {
                continue;
            }
            var link = Path.Combine(root, applet);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!, Directory755);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, "/bin/busybox");
            }
        }

        // The bind-mount target for tini (the executor mounts the host's static tini over it).
        WriteFile(Path.Combine(root, ".skiff", "tini"), "");
        WriteFile(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        WriteFile(Path.Combine(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        WriteFile(Path.Combine(root, "etc", "hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
    }

    private static void WriteFile(string path, string text)
    {
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, File644);
    }

    private static async Task<IReadOnlyList<string>> ListAppletsAsync(string busyboxPath, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(busyboxPath, "--list-full")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"cannot start {busyboxPath}");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{busyboxPath} --list-full exited with {process.ExitCode}");
        }
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
