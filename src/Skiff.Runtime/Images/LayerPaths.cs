namespace Skiff.Runtime.Images;

/// <summary>Path rules for archive and layer entries: relative, no <c>..</c>, no NUL.</summary>
internal static class LayerPaths
{
    /// <summary>
    /// <paramref name="name"/> without <c>./</c>, empty and <c>.</c> segments ("" is the root). Absolute paths and
    /// <c>..</c> segments are refused, not cleaned: an archive that uses them is hostile or broken.
    /// </summary>
    public static string Normalize(string name, string what)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw ImageStoreException.Invalid($"body: {what} '{ImageArchive.Shorten(name.Replace('\0', '?'))}' contains a NUL character");
        }
        if (name.StartsWith('/'))
        {
            throw ImageStoreException.Invalid($"body: {what} '{ImageArchive.Shorten(name)}' is an absolute path");
        }
        var segments = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToArray();
        if (segments.Contains(".."))
        {
            throw ImageStoreException.Invalid($"body: {what} '{ImageArchive.Shorten(name)}' contains '..'");
        }
        return string.Join('/', segments);
    }

    /// <summary>
    /// Where a symbolic link at <paramref name="linkPath"/> (relative to the root) points, resolved lexically the
    /// way the container will see it; null when it climbs above the root.
    /// </summary>
    public static string? ResolveLinkTarget(string linkPath, string target)
    {
        var stack = new List<string>();
        if (!target.StartsWith('/'))
        {
            stack.AddRange(linkPath.Split('/')[..^1]);
        }
        foreach (var segment in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == ".")
            {
                continue;
            }
            if (segment == "..")
            {
                if (stack.Count == 0)
                {
                    return null;
                }
                stack.RemoveAt(stack.Count - 1);
                continue;
            }
            stack.Add(segment);
        }
        return string.Join('/', stack);
    }
}
