using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Skiff.Runtime.Containers;

namespace Skiff.Runtime.Images;

public enum ImageImportOutcome
{
    Created,
    /// <summary>The tag existed with other content and <c>force</c> replaced it.</summary>
    Replaced,
    /// <summary>The tag already names exactly this content: nothing changed.</summary>
    Unchanged,
}

public sealed record ImageImport(ImageRecord Image, ImageImportOutcome Outcome, IReadOnlyList<ImageRecord> Pruned);

/// <summary>
/// The local image store under &lt;data&gt;/images: <c>index.json</c> maps NAME:TAG to a content digest and a root
/// file system; imported roots live once per digest under <c>rootfs/&lt;hex&gt;</c> and are shared read-only by
/// every task and every name that uses them; built-ins (<c>busybox</c>, <c>host</c>) are made at first start.
/// </summary>
/// <remarks>
/// <para>An import unpacks into <c>staging/</c> and is renamed into place only when complete; the index is
/// replaced by rename too. Whatever a crash leaves (staging, uploads, roots no record names) is removed by
/// <see cref="InitializeAsync"/>, so nothing half-imported ever looks like an image.</para>
/// <para>A root that a running task uses (<see cref="AcquireAsync"/>) is removed only once the task releases it.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore's wait handle is never asked for: it holds nothing to dispose.")]
public sealed class ImageStore
{
    public const string BuiltInSource = "built-in";

    private const string IndexFile = "index.json";
    private const string RootfsDirectory = "rootfs";
    private const string StagingDirectory = "staging";
    private const string TrashDirectory = "trash";

    private readonly ImageStoreOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _leaseLock = new();
    private readonly Dictionary<string, int> _leases = new(StringComparer.Ordinal);
    private readonly HashSet<string> _doomed = new(StringComparer.Ordinal);
    private readonly Lock _initLock = new();
    private Task<IReadOnlyList<string>>? _initialized;
    private volatile IReadOnlyList<ImageRecord>? _images;

    public ImageStore(ImageStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.KeepVersions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxArchiveBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxUnpackedBytes, 1);
        _options = options with { Directory = Path.GetFullPath(options.Directory) };
    }

    public ImageStoreOptions Options => _options;

    public string Directory => _options.Directory;

    /// <summary>Where the server spools uploads (same file system as the store; emptied at start).</summary>
    public string UploadsDirectory => Path.Combine(Directory, "uploads");

    public static bool IsBuiltInName(string name) => name is BusyboxImage.Name or HostImage.Name;

    /// <summary>Every version of every image, built-ins first, then by name and newest first.</summary>
    public IReadOnlyList<ImageRecord> List() =>
        [.. Load().OrderByDescending(i => i.BuiltIn).ThenBy(i => i.Name, StringComparer.Ordinal).ThenByDescending(i => i.CreatedAt)];

    /// <summary>The image <paramref name="reference"/> names (NAME[:TAG]); null when invalid or unknown.</summary>
    public ImageRecord? Find(string? reference) =>
        ImageReference.TryParse(reference, out var parsed, out _) ? Find(Load(), parsed) : null;

    /// <summary>
    /// Removes what a crash left (staging, uploads, unreferenced roots) and makes the built-in images, once; later
    /// calls share the first (a failed run is retried). Returns problems that left a built-in out (busybox missing).
    /// </summary>
    public Task<IReadOnlyList<string>> InitializeAsync(CancellationToken cancellationToken = default)
    {
        lock (_initLock)
        {
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = Task.Run(() => InitializeCoreAsync(CancellationToken.None), CancellationToken.None);
            }
            return _initialized.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Imports an OCI image layout or <c>docker save</c> tarball as NAME[:TAG]. Tags are immutable: the same content
    /// again changes nothing, other content is refused unless <paramref name="force"/>. Beyond
    /// <see cref="ImageStoreOptions.KeepVersions"/> versions of the name, the oldest are removed.
    /// </summary>
    /// <exception cref="ImageStoreException">The name or archive is refused; nothing was left on disk.</exception>
    public async Task<ImageImport> ImportAsync(string reference, string archivePath, bool force, CancellationToken cancellationToken = default)
    {
        var parsed = ParseName(reference);
        if (IsBuiltInName(parsed.Name))
        {
            throw new ImageStoreException(ImageError.BuiltIn, $"name: '{parsed.Name}' is a built-in image and cannot be replaced");
        }
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var length = new FileInfo(archivePath).Length;
        if (length > _options.MaxArchiveBytes)
        {
            throw new ImageStoreException(ImageError.TooLarge, $"body: the archive is {length} bytes, more than the configured maximum of {_options.MaxArchiveBytes}");
        }

        var staging = Path.Combine(Directory, StagingDirectory, Guid.NewGuid().ToString("N"));
        try
        {
            return await Task.Run(() => ImportCoreAsync(parsed, archivePath, force, staging, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw ImageStoreException.Invalid($"body: cannot unpack the image ({e.Message})", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw ImageStoreException.Invalid($"body: cannot unpack the image ({e.Message})", e);
        }
        finally
        {
            DeleteDirectory(staging);
        }
    }

    /// <summary>Removes NAME:TAG, or every version of NAME when no tag is given; returns what was removed.</summary>
    public async Task<IReadOnlyList<ImageRecord>> RemoveAsync(string reference, CancellationToken cancellationToken = default)
    {
        var parsed = ParseName(reference);
        var allTags = !reference.Contains(':', StringComparison.Ordinal);
        if (IsBuiltInName(parsed.Name))
        {
            throw new ImageStoreException(ImageError.BuiltIn, $"name: '{parsed.Name}' is a built-in image and cannot be removed");
        }
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var images = Load();
            var removed = images.Where(i => i.Name == parsed.Name && (allTags || i.Tag == parsed.Tag)).ToList();
            if (removed.Count == 0)
            {
                throw new ImageStoreException(ImageError.NotFound, $"name: no image '{(allTags ? parsed.Name : parsed.ToString())}'");
            }
            var kept = images.Except(removed).ToList();
            Save(kept);
            RemoveUnreferenced(removed, kept);
            return removed;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The image's root (and host binds) for one task, held until the lease is disposed; null when the reference
    /// names no image. Makes the built-ins first if this is the first use.
    /// </summary>
    public async Task<ImageLease?> AcquireAsync(string reference, CancellationToken cancellationToken = default)
    {
        if (!ImageReference.TryParse(reference, out var parsed, out _))
        {
            return null;
        }
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        lock (_leaseLock)
        {
            if (Find(Load(), parsed) is not { } image)
            {
                return null;
            }
            _leases[image.Rootfs] = _leases.GetValueOrDefault(image.Rootfs) + 1;
            return new ImageLease(this, image, Path.Combine(Directory, image.Rootfs));
        }
    }

    internal void Release(string rootfs)
    {
        var delete = false;
        lock (_leaseLock)
        {
            var count = _leases.GetValueOrDefault(rootfs) - 1;
            if (count > 0)
            {
                _leases[rootfs] = count;
                return;
            }
            _leases.Remove(rootfs);
            delete = _doomed.Remove(rootfs);
        }
        if (delete)
        {
            DeleteRootfs(rootfs);
        }
    }

    private async Task<ImageImport> ImportCoreAsync(ImageReference reference, string archivePath, bool force, string staging, CancellationToken cancellationToken)
    {
        var contents = ImageArchive.Read(archivePath, Path.Combine(staging, "archive"), _options.MaxArchiveBytes, cancellationToken);
        var digest = Digest(contents.Layers.Select(l => l.Digest));
        var rootfs = RootfsDirectory + "/" + digest["sha256:".Length..];

        // Checked before unpacking (cheap refusals) and again under the gate (a concurrent import of the tag).
        if (CheckExisting(reference, digest, force) is { } unchanged)
        {
            return unchanged;
        }
        long size;
        var target = Path.Combine(Directory, rootfs);
        var unpacked = Path.Combine(staging, "rootfs");
        if (Load().FirstOrDefault(i => i.Rootfs == rootfs) is { } sharing)
        {
            size = sharing.Size;
        }
        else
        {
            var extractor = new LayerExtractor(unpacked, _options.MaxUnpackedBytes);
            foreach (var layer in contents.Layers)
            {
                extractor.Apply(layer, cancellationToken);
            }
            extractor.AddMountPoints();
            size = extractor.UnpackedBytes;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (CheckExisting(reference, digest, force) is { } raced)
            {
                return raced;
            }
            lock (_leaseLock)
            {
                // Re-imported while a running task still held its old root: it stays.
                _doomed.Remove(rootfs);
            }
            if (!System.IO.Directory.Exists(target) && System.IO.Directory.Exists(unpacked))
            {
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                System.IO.Directory.Move(unpacked, target);
            }
            if (!System.IO.Directory.Exists(target))
            {
                throw new IOException($"the root file system {rootfs} disappeared");
            }

            var images = Load();
            var previous = Find(images, reference);
            var record = new ImageRecord
            {
                Name = reference.Name,
                Tag = reference.Tag,
                Digest = digest,
                Size = size,
                CreatedAt = _options.TimeProvider.GetUtcNow(),
                Source = contents.Format,
                Rootfs = rootfs,
            };
            var kept = images.Where(i => i != previous).Append(record).ToList();
            // Lifecycle: keep the newest N versions of the name (the one just imported always among them).
            var pruned = kept.Where(i => i.Name == reference.Name && i != record)
                .OrderByDescending(i => i.CreatedAt)
                .Skip(_options.KeepVersions - 1)
                .ToList();
            kept = [.. kept.Except(pruned)];
            Save(kept);
            RemoveUnreferenced(previous is null ? pruned : [previous, .. pruned], kept);
            return new ImageImport(record, previous is null ? ImageImportOutcome.Created : ImageImportOutcome.Replaced, pruned);
        }
        finally
        {
            _gate.Release();
        }
    }

    private ImageImport? CheckExisting(ImageReference reference, string digest, bool force)
    {
        if (Find(Load(), reference) is not { } existing)
        {
            return null;
        }
        if (existing.Digest == digest)
        {
            return new ImageImport(existing, ImageImportOutcome.Unchanged, []);
        }
        return force ? null : throw new ImageStoreException(ImageError.TagExists,
            $"name: {reference} already exists with other content ({existing.Digest}); tags are immutable, import with force to replace it");
    }

    private async Task<IReadOnlyList<string>> InitializeCoreAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var scratch in (string[])[StagingDirectory, TrashDirectory, "uploads"])
            {
                DeleteDirectory(Path.Combine(Directory, scratch));
            }
            BusyboxImage.RemoveStaleBuilds(Directory);
            foreach (var stale in EnumerateDirectories(Path.Combine(Directory, HostImage.Name), Containers.RootfsDirectory.BuildingPrefix + "*"))
            {
                DeleteDirectory(stale);
            }

            var images = Load().ToList();
            var problems = new List<string>();
            var builtIns = new List<ImageRecord>();
            if (File.Exists(_options.BusyboxPath))
            {
                await BusyboxImage.EnsureAsync(Directory, _options.BusyboxPath, cancellationToken).ConfigureAwait(false);
                builtIns.Add(BuiltIn(BusyboxImage.Name, ImageStreams.Sha256File(_options.BusyboxPath), new FileInfo(_options.BusyboxPath).Length, []));
            }
            else
            {
                problems.Add($"busybox image: {_options.BusyboxPath} not found (apt-get install busybox-static)");
            }
            HostImage.Ensure(Directory);
            builtIns.Add(BuiltIn(HostImage.Name, Digest(HostImage.Binds), 0, HostImage.Binds));
            foreach (var builtIn in builtIns)
            {
                var existing = images.FindIndex(i => i.Name == builtIn.Name && i.Tag == builtIn.Tag);
                if (existing < 0)
                {
                    images.Add(builtIn);
                }
                else if (images[existing].Digest != builtIn.Digest || !images[existing].BuiltIn)
                {
                    images[existing] = builtIn;
                }
            }
            Save(images);

            // Roots no record names: an import that crashed between the rename and the index.
            var referenced = images.Select(i => i.Rootfs).ToHashSet(StringComparer.Ordinal);
            foreach (var root in EnumerateDirectories(Path.Combine(Directory, RootfsDirectory), "*"))
            {
                if (!referenced.Contains(RootfsDirectory + "/" + Path.GetFileName(root)))
                {
                    DeleteDirectory(root);
                }
            }
            return problems;
        }
        finally
        {
            _gate.Release();
        }
    }

    private ImageRecord BuiltIn(string name, string digest, long size, IReadOnlyList<string> binds) => new()
    {
        Name = name,
        Tag = ImageReference.DefaultTag,
        Digest = digest,
        Size = size,
        CreatedAt = _options.TimeProvider.GetUtcNow(),
        Source = BuiltInSource,
        BuiltIn = true,
        Rootfs = name + "/rootfs",
        HostBinds = binds,
    };

    /// <summary>Deletes the roots of <paramref name="removed"/> that no record of <paramref name="kept"/> uses (later, if a task holds one).</summary>
    private void RemoveUnreferenced(IEnumerable<ImageRecord> removed, IReadOnlyList<ImageRecord> kept)
    {
        foreach (var rootfs in removed.Select(r => r.Rootfs).Distinct().Where(r => kept.All(k => k.Rootfs != r)).ToList())
        {
            lock (_leaseLock)
            {
                if (_leases.ContainsKey(rootfs))
                {
                    _doomed.Add(rootfs);
                    continue;
                }
            }
            DeleteRootfs(rootfs);
        }
    }

    private void DeleteRootfs(string rootfs)
    {
        var path = Path.Combine(Directory, rootfs);
        if (!System.IO.Directory.Exists(path))
        {
            return;
        }
        // Renamed away first, so a half-deleted root is never seen under its name.
        var trash = Path.Combine(Directory, TrashDirectory, Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(trash)!);
        System.IO.Directory.Move(path, trash);
        DeleteDirectory(trash);
    }

    private IReadOnlyList<ImageRecord> Load()
    {
        if (_images is { } images)
        {
            return images;
        }
        var path = Path.Combine(Directory, IndexFile);
        if (!File.Exists(path))
        {
            return _images = [];
        }
        try
        {
            var index = JsonSerializer.Deserialize(File.ReadAllBytes(path), ImageIndexJsonContext.Default.ImageIndex);
            return _images = index?.Images ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"the image index {path} is corrupt ({e.Message}); move it away to start with only the built-in images", e);
        }
    }

    private void Save(IReadOnlyList<ImageRecord> images)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, IndexFile);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(file, new ImageIndex { Images = images }, ImageIndexJsonContext.Default.ImageIndex);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        _images = images;
    }

    private static ImageRecord? Find(IReadOnlyList<ImageRecord> images, ImageReference reference) =>
        images.FirstOrDefault(i => i.Name == reference.Name && i.Tag == reference.Tag);

    private static ImageReference ParseName(string reference) =>
        ImageReference.TryParse(reference, out var parsed, out var error) ? parsed : throw ImageStoreException.Invalid("name: " + error);

    /// <summary>sha256 over the digests (in order) of what makes the image: content-addressed, whatever the format.</summary>
    private static string Digest(IEnumerable<string> parts) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', parts))));

    private static IEnumerable<string> EnumerateDirectories(string path, string pattern) =>
        System.IO.Directory.Exists(path) ? System.IO.Directory.EnumerateDirectories(path, pattern).ToList() : [];

    private static void DeleteDirectory(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path))
            {
                System.IO.Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Removed at the next start (InitializeAsync).
        }
    }
}

/// <summary>An image's root held for one task: it is not deleted until this is disposed.</summary>
public sealed class ImageLease : IDisposable
{
    private readonly ImageStore _store;
    private int _disposed;

    internal ImageLease(ImageStore store, ImageRecord image, string rootfsPath)
    {
        _store = store;
        Image = image;
        RootfsPath = rootfsPath;
    }

    public ImageRecord Image { get; }

    public string RootfsPath { get; }

    public IReadOnlyList<string> HostBinds => Image.HostBinds;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _store.Release(Image.Rootfs);
        }
    }
}
