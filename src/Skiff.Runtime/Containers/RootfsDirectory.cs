namespace Skiff.Runtime.Containers;

/// <summary>
/// Builds a root file system in a temporary sibling directory and renames it into place, so a crash never
/// leaves a half-built root that looks complete (leftovers are named ".rootfs-*" and removed at start).
/// </summary>
internal static class RootfsDirectory
{
    public const string BuildingPrefix = ".rootfs-";

    public static string BuildOnce(string rootfs, Action<string> build)
    {
        var parent = Path.GetDirectoryName(rootfs)!;
        Directory.CreateDirectory(parent);
        var building = Path.Combine(parent, BuildingPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            build(building);
            try
            {
                Directory.Move(building, rootfs);
            }
            catch (IOException) when (Directory.Exists(rootfs))
            {
                // Another builder won the race; its root is as good as ours.
            }
        }
        finally
        {
            if (Directory.Exists(building))
            {
                Directory.Delete(building, recursive: true);
            }
        }
        return rootfs;
    }
}
