using System.Formats.Tar;
using System.Runtime.InteropServices;

namespace Skiff.Runtime.Images;

/// <summary>
/// Applies layers, in order, to a root file system being built, honouring whiteouts (<c>.wh.NAME</c> removes NAME
/// from lower layers, <c>.wh..wh..opq</c> empties a directory of them).
/// </summary>
/// <remarks>
/// Nothing is ever written through a symbolic link: every parent of an entry must be a real directory of this root
/// (missing ones are created), an existing entry is removed before its replacement is created (files with
/// O_EXCL), and hard links may only join regular files reached the same way. Links may point anywhere inside the
/// root as the container will see it; one that climbs out of it is refused. Device nodes and fifos are refused.
/// Owners come from the layer; setuid and setgid bits never do (the root file system sits on the host).
/// </remarks>
internal sealed class LayerExtractor
{
    private const UnixFileMode PermissionMask = (UnixFileMode)0x3FF | UnixFileMode.StickyBit; // 0777 + sticky: no setuid/setgid
    private const UnixFileMode Directory755 = (UnixFileMode)0x1ED;
    private const string OpaqueWhiteout = ".wh..wh..opq";
    private const string WhiteoutPrefix = ".wh.";

    // Mount points the executor needs in every root (it is mounted read-only, so they must exist beforehand).
    private static readonly string[] MountPoints = ["proc", "sys", "dev", "tmp", "work", "output", ".skiff"];

    private readonly string _root;
    private readonly long _maxUnpackedBytes;
    // Parents already checked to be real directories; cleared whenever something is removed.
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
    private long _decompressed;

    public LayerExtractor(string root, long maxUnpackedBytes)
    {
        _root = root;
        _maxUnpackedBytes = maxUnpackedBytes;
        Directory.CreateDirectory(root, Directory755);
    }

    /// <summary>Bytes of regular files written.</summary>
    public long UnpackedBytes { get; private set; }

    public void Apply(LayerBlob layer, CancellationToken cancellationToken)
    {
        var what = "layer " + ImageArchive.Shorten(layer.ArchiveName);
        // Paths this layer made: an opaque whiteout hides only what lower layers put in its directory.
        var ours = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var limited = new LimitedReadStream(ImageStreams.OpenMaybeCompressed(layer.BlobPath, what), _maxUnpackedBytes - _decompressed,
                () => $"body: the image unpacks to more than {_maxUnpackedBytes} bytes, the configured maximum");
            using var hashing = new HashingReadStream(limited);
            using (var reader = new TarReader(hashing, leaveOpen: true))
            {
                while (reader.GetNextEntry() is { } entry)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ApplyEntry(entry, ours);
                }
            }
            // Reading to the end makes a truncated gzip stream fail here even when the tar already looked complete.
            var diffId = hashing.Finish();
            _decompressed += limited.BytesRead;
            if (layer.DiffId is { } expected && !string.Equals(expected, diffId, StringComparison.Ordinal))
            {
                throw ImageStoreException.Invalid($"body: {what} does not match its uncompressed digest {ImageArchive.Shorten(expected)} (got {diffId})");
            }
        }
        // TarReader reports a header that lies about its size as an InvalidOperationException.
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or InvalidOperationException)
        {
            throw ImageStoreException.Invalid($"body: {what} is not a readable tar or tar.gz stream ({e.Message})", e);
        }
    }

    /// <summary>Creates the executor's mount points where the image lacks them.</summary>
    public void AddMountPoints()
    {
        foreach (var directory in MountPoints)
        {
            var path = Path.Combine(_root, directory);
            if (Inspect(path) == Kind.Missing)
            {
                Directory.CreateDirectory(path, Directory755);
            }
        }
        var tmp = Path.Combine(_root, "tmp");
        if (Inspect(tmp) == Kind.Directory)
        {
            File.SetUnixFileMode(tmp, Directory755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit);
        }
        var tini = Path.Combine(_root, ".skiff", "tini");
        if (Inspect(Path.Combine(_root, ".skiff")) == Kind.Directory && Inspect(tini) == Kind.Missing)
        {
            File.WriteAllBytes(tini, []);
        }
    }

    private void ApplyEntry(TarEntry entry, HashSet<string> ours)
    {
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
        {
            return;
        }
        var name = LayerPaths.Normalize(entry.Name, "layer entry");
        if (name.Length == 0)
        {
            return; // The root itself ("./").
        }
        var fileName = name[(name.LastIndexOf('/') + 1)..];
        var parent = name.Length == fileName.Length ? "" : name[..(name.Length - fileName.Length - 1)];
        if (fileName == OpaqueWhiteout)
        {
            EnsureParent(name, create: true);
            Opaque(parent, ours);
            return;
        }
        if (fileName.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            var hidden = fileName[WhiteoutPrefix.Length..];
            if (hidden.Length == 0)
            {
                throw ImageStoreException.Invalid($"body: whiteout '{ImageArchive.Shorten(name)}' names nothing");
            }
            if (EnsureParent(name, create: false))
            {
                Remove(Full(parent.Length == 0 ? hidden : parent + "/" + hidden));
            }
            return;
        }

        var full = Full(name);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                EnsureParent(name, create: true);
                if (Inspect(full) != Kind.Directory)
                {
                    Remove(full);
                    Directory.CreateDirectory(full);
                }
                _directories.Add(name);
                SetOwnerAndMode(full, entry, Directory755);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                EnsureParent(name, create: true);
                Remove(full);
                using (var output = new FileStream(full, FileMode.CreateNew, FileAccess.Write))
                {
                    entry.DataStream?.CopyTo(output);
                    UnpackedBytes += output.Length;
                }
                SetOwnerAndMode(full, entry, null);
                break;
            case TarEntryType.SymbolicLink:
                if (entry.LinkName.Length == 0 || entry.LinkName.Contains('\0', StringComparison.Ordinal)
                    || LayerPaths.ResolveLinkTarget(name, entry.LinkName) is null)
                {
                    throw ImageStoreException.Invalid($"body: symbolic link '{ImageArchive.Shorten(name)}' -> '{ImageArchive.Shorten(entry.LinkName)}' points outside the image's root");
                }
                EnsureParent(name, create: true);
                Remove(full);
                File.CreateSymbolicLink(full, entry.LinkName);
                NativeMethods.LChown(full, entry.Uid, entry.Gid);
                break;
            case TarEntryType.HardLink:
                var targetName = LayerPaths.Normalize(entry.LinkName, "hard link target");
                var target = Full(targetName);
                if (targetName.Length == 0 || !EnsureParent(targetName, create: false) || Inspect(target) != Kind.File)
                {
                    throw ImageStoreException.Invalid($"body: hard link '{ImageArchive.Shorten(name)}' -> '{ImageArchive.Shorten(entry.LinkName)}' does not name a regular file of the image");
                }
                if (targetName == name)
                {
                    break;
                }
                EnsureParent(name, create: true);
                Remove(full);
                if (NativeMethods.Link(target, full) != 0)
                {
                    throw new IOException($"cannot link {name} to {targetName}: errno {Marshal.GetLastPInvokeError()}");
                }
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                throw ImageStoreException.Invalid($"body: '{ImageArchive.Shorten(name)}' is a {entry.EntryType} node; device nodes and fifos are not allowed in images");
            default:
                throw ImageStoreException.Invalid($"body: '{ImageArchive.Shorten(name)}' has the unsupported tar entry type {entry.EntryType}");
        }
        ours.Add(name);
    }

    /// <summary>
    /// Checks that every parent of <paramref name="name"/> is a real directory (creating missing ones when asked);
    /// false when one is missing and <paramref name="create"/> is false. Throws on a symbolic link or a file.
    /// </summary>
    private bool EnsureParent(string name, bool create)
    {
        var segments = name.Split('/');
        var relative = "";
        for (var i = 0; i < segments.Length - 1; i++)
        {
            relative = i == 0 ? segments[0] : relative + "/" + segments[i];
            if (_directories.Contains(relative))
            {
                continue;
            }
            var full = Full(relative);
            switch (Inspect(full))
            {
                case Kind.Directory:
                    break;
                case Kind.Missing when create:
                    Directory.CreateDirectory(full, Directory755);
                    break;
                case Kind.Missing:
                    return false;
                case Kind.Symlink:
                    throw ImageStoreException.Invalid($"body: '{ImageArchive.Shorten(name)}' would be written through the symbolic link '{ImageArchive.Shorten(relative)}'");
                default:
                    throw ImageStoreException.Invalid($"body: '{ImageArchive.Shorten(name)}' needs '{ImageArchive.Shorten(relative)}' to be a directory, but it is a file");
            }
            _directories.Add(relative);
        }
        return true;
    }

    private void Opaque(string directory, HashSet<string> ours)
    {
        var full = directory.Length == 0 ? _root : Full(directory);
        foreach (var child in Directory.EnumerateFileSystemEntries(full).ToList())
        {
            var relative = directory.Length == 0 ? Path.GetFileName(child) : directory + "/" + Path.GetFileName(child);
            if (!ours.Contains(relative))
            {
                Remove(child);
            }
        }
    }

    private void Remove(string full)
    {
        switch (Inspect(full))
        {
            case Kind.Missing:
                return;
            case Kind.Directory:
                // Recursive delete removes symbolic links inside as links; it never follows them.
                Directory.Delete(full, recursive: true);
                break;
            default:
                File.Delete(full);
                break;
        }
        _directories.Clear();
    }

    private static void SetOwnerAndMode(string full, TarEntry entry, UnixFileMode? fallback)
    {
        NativeMethods.LChown(full, entry.Uid, entry.Gid);
        var mode = entry.Mode & PermissionMask;
        File.SetUnixFileMode(full, mode == 0 && fallback is { } f ? f : mode);
    }

    private string Full(string relative) => Path.Combine(_root, relative);

    internal enum Kind
    {
        Missing,
        Directory,
        File,
        Symlink,
    }

    /// <summary>What is at <paramref name="path"/>, without following a symbolic link there.</summary>
    internal static Kind Inspect(string path) =>
        new FileInfo(path).LinkTarget is not null ? Kind.Symlink
        : Directory.Exists(path) ? Kind.Directory
        : File.Exists(path) ? Kind.File
        : Kind.Missing;

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "link", SetLastError = true)]
        public static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);

        [DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
        private static extern int LChownNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);

        // Owners only matter when running as root (as the runc executor does); elsewhere it is a best effort.
        public static void LChown(string path, int uid, int gid)
        {
            if (uid >= 0 && gid >= 0)
            {
                _ = LChownNative(path, (uint)uid, (uint)gid);
            }
        }
    }
}
