using Skiff.Core.Tasks;

namespace Skiff.Server.Scheduling;

/// <summary>The files a task left in its output directory, and safe access to them.</summary>
internal static class Artifacts
{
    private const int MaxArtifacts = 1000;

    private static readonly EnumerationOptions Walk = new()
    {
        RecurseSubdirectories = true,
        // Symlinks are skipped and never followed: an artifact is a regular file inside the directory.
        AttributesToSkip = FileAttributes.ReparsePoint,
        IgnoreInaccessible = true,
        ReturnSpecialDirectories = false,
    };

    public static IReadOnlyList<TaskArtifact> Scan(string outputDirectory)
    {
        if (!Directory.Exists(outputDirectory))
        {
            return [];
        }
        var root = new DirectoryInfo(outputDirectory);
        return root.EnumerateFiles("*", Walk)
            .Take(MaxArtifacts)
            .Select(f => new TaskArtifact(Path.GetRelativePath(root.FullName, f.FullName).Replace('\\', '/'), f.Length))
            .OrderBy(a => a.Path, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The full path of a listed artifact, or null when the request names anything else. Only paths recorded
    /// at the end of the attempt are served, and every component is checked again for links.
    /// </summary>
    public static string? Resolve(TaskResult result, string requestedPath)
    {
        if (result.OutputDirectory is null || !result.Artifacts.Any(a => a.Path == requestedPath))
        {
            return null;
        }
        var root = Path.GetFullPath(result.OutputDirectory);
        var full = Path.GetFullPath(Path.Combine(root, requestedPath));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return null;
        }
        for (var current = full; current.Length > root.Length; current = Path.GetDirectoryName(current)!)
        {
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                return null;
            }
        }
        return File.Exists(full) ? full : null;
    }
}
