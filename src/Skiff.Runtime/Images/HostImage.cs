namespace Skiff.Runtime.Images;

/// <summary>
/// The built-in <c>host</c> image: a tiny root with the host's /usr and /etc bind-mounted read-only over it and the
/// usual merged-/usr links, for tasks that need host tools (python3, dotnet). Not the host's root: /root, /home,
/// /var and Skiff's data directory are not there.
/// </summary>
internal static class HostImage
{
    public const string Name = "host";

    public static readonly IReadOnlyList<string> Binds = ["/usr", "/etc"];

    private const UnixFileMode Directory755 = (UnixFileMode)0x1ED;

    // .skiff/dotnet and .skiff/app: where built-in workloads find the .NET runtime and the skiff program.
    private static readonly string[] Directories = ["usr", "etc", "proc", "sys", "dev", "tmp", "work", "output", ".skiff", ".skiff/dotnet", ".skiff/app"];

    private static readonly (string Link, string Target)[] Links =
        [("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/sbin")];

    public static string RootfsPath(string imagesDirectory) => Path.Combine(imagesDirectory, Name, "rootfs");

    /// <summary>Builds &lt;images&gt;/host/rootfs unless it exists (in a temporary directory, renamed into place).</summary>
    public static string Ensure(string imagesDirectory)
    {
        var rootfs = RootfsPath(imagesDirectory);
        if (Directory.Exists(rootfs))
        {
            return rootfs;
        }
        return Containers.RootfsDirectory.BuildOnce(rootfs, building =>
        {
            Directory.CreateDirectory(building, Directory755);
            foreach (var directory in Directories)
            {
                Directory.CreateDirectory(Path.Combine(building, directory), Directory755);
            }
            File.SetUnixFileMode(Path.Combine(building, "tmp"), Directory755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit);
            foreach (var (link, target) in Links)
            {
                File.CreateSymbolicLink(Path.Combine(building, link), target);
            }
            File.WriteAllBytes(Path.Combine(building, ".skiff", "tini"), []);
        });
    }
}
