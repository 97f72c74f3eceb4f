using System.Formats.Tar;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Skiff.Runtime.Images;

/// <summary>One layer of an image: its blob (as stored in the archive) and what the format says it must hash to.</summary>
internal sealed record LayerBlob(string ArchiveName, string BlobPath, string Digest, string? DiffId);

/// <summary>The layers of an image archive, in the order they apply, with their digests verified.</summary>
internal sealed record ImageArchiveContents(string Format, IReadOnlyList<LayerBlob> Layers);

/// <summary>
/// Reads an OCI image layout tarball or a <c>docker save</c> tarball. The outer archive's files are copied into a
/// work directory under numbered names (its own paths are never used on disk) and its symbolic links are resolved
/// in memory only (newer <c>docker save</c> links legacy layer paths to blobs).
/// </summary>
internal static class ImageArchive
{
    public const string OciFormat = "oci-layout";
    public const string DockerFormat = "docker-save";

    private const int MaxMetadataBytes = 4 * 1024 * 1024;
    private const int MaxLinkHops = 16;
    private const int MaxIndexDepth = 4;

    public static ImageArchiveContents Read(string archivePath, string workDirectory, long maxArchiveBytes, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        Extract(archivePath, workDirectory, maxArchiveBytes, files, links, cancellationToken);

        string? Resolve(string name)
        {
            for (var hop = 0; hop < MaxLinkHops; hop++)
            {
                if (files.TryGetValue(name, out var path))
                {
                    return path;
                }
                if (!links.TryGetValue(name, out var target))
                {
                    return null;
                }
                name = target;
            }
            return null;
        }

        if (Resolve("oci-layout") is not null || (Resolve("index.json") is not null && Resolve("manifest.json") is null))
        {
            return ReadOci(Resolve);
        }
        if (Resolve("manifest.json") is not null)
        {
            return ReadDocker(Resolve);
        }
        throw ImageStoreException.Invalid("body: not an image archive: neither an OCI image layout (oci-layout, index.json) nor a docker save tarball (manifest.json)");
    }

    private static void Extract(string archivePath, string workDirectory, long maxArchiveBytes,
        Dictionary<string, string> files, Dictionary<string, string> links, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(workDirectory);
        try
        {
            using var stream = new LimitedReadStream(ImageStreams.OpenMaybeCompressed(archivePath, "the archive"), maxArchiveBytes,
                () => $"body: the archive unpacks to more than {maxArchiveBytes} bytes, the configured maximum");
            using var reader = new TarReader(stream);
            var count = 0;
            while (reader.GetNextEntry() is { } entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = LayerPaths.Normalize(entry.Name, "archive entry");
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (name.Length == 0)
                        {
                            throw ImageStoreException.Invalid("body: the archive holds a file without a name");
                        }
                        var path = Path.Combine(workDirectory, (count++).ToString(CultureInfo.InvariantCulture));
                        using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
                        {
                            entry.DataStream?.CopyTo(output);
                        }
                        files[name] = path;
                        links.Remove(name);
                        break;
                    case TarEntryType.SymbolicLink:
                        var target = entry.LinkName.StartsWith('/') ? entry.LinkName
                            : string.Join('/', name.Split('/')[..^1].Append(entry.LinkName));
                        links[name] = LayerPaths.Normalize(target.TrimStart('/'), "archive link target");
                        files.Remove(name);
                        break;
                    default:
                        throw ImageStoreException.Invalid($"body: the archive holds '{name}' of type {entry.EntryType}; only files, directories and symbolic links belong in an image archive");
                }
            }
        }
        // TarReader reports a header that lies about its size as an InvalidOperationException.
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or InvalidOperationException)
        {
            throw ImageStoreException.Invalid($"body: not a readable tar archive ({e.Message})", e);
        }
    }

    private static ImageArchiveContents ReadOci(Func<string, string?> resolve)
    {
        var indexPath = resolve("index.json") ?? throw ImageStoreException.Invalid("body: OCI image layout without index.json");
        using var index = ParseJson(indexPath, "index.json");
        var manifest = FindManifest(index.RootElement, resolve, depth: 0);
        if (!manifest.RootElement.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
        {
            throw ImageStoreException.Invalid("body: the OCI manifest has no layers list");
        }
        var result = new List<LayerBlob>();
        foreach (var layer in layers.EnumerateArray())
        {
            var (digest, path) = Blob(layer, resolve, "layer");
            result.Add(new LayerBlob("blobs/" + digest.Replace(':', '/'), path, digest, null));
        }
        manifest.Dispose();
        return new ImageArchiveContents(OciFormat, result);
    }

    /// <summary>Follows index → (nested index →) manifest, preferring this machine's platform.</summary>
    private static JsonDocument FindManifest(JsonElement index, Func<string, string?> resolve, int depth)
    {
        if (depth > MaxIndexDepth)
        {
            throw ImageStoreException.Invalid("body: OCI indexes nest too deeply");
        }
        if (!index.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array || manifests.GetArrayLength() == 0)
        {
            throw ImageStoreException.Invalid("body: the OCI index lists no manifests");
        }
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            _ => "",
        };
        var chosen = manifests.EnumerateArray().FirstOrDefault(m =>
            m.TryGetProperty("platform", out var platform) && platform.ValueKind == JsonValueKind.Object
            && platform.TryGetProperty("architecture", out var a) && a.ValueKind == JsonValueKind.String && a.GetString() == arch);
        if (chosen.ValueKind == JsonValueKind.Undefined)
        {
            chosen = manifests[0];
        }
        var (_, path) = Blob(chosen, resolve, "manifest");
        var document = ParseJson(path, "the OCI manifest");
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("manifests", out _))
        {
            using (document)
            {
                return FindManifest(document.RootElement, resolve, depth + 1);
            }
        }
        return document;
    }

    /// <summary>A descriptor's blob, its digest and size checked against the bytes.</summary>
    private static (string Digest, string Path) Blob(JsonElement descriptor, Func<string, string?> resolve, string what)
    {
        if (descriptor.ValueKind != JsonValueKind.Object
            || !descriptor.TryGetProperty("digest", out var digestElement) || digestElement.ValueKind != JsonValueKind.String)
        {
            throw ImageStoreException.Invalid($"body: a {what} descriptor has no digest");
        }
        var digest = digestElement.GetString()!;
        var hex = digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest["sha256:".Length..] : "";
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigitLower))
        {
            throw ImageStoreException.Invalid($"body: {what} digest '{Shorten(digest)}' is not sha256:<64 lowercase hex digits>");
        }
        var path = resolve("blobs/sha256/" + hex) ?? throw ImageStoreException.Invalid($"body: {what} blob {digest} is missing from the archive");
        var actual = ImageStreams.Sha256File(path);
        if (!string.Equals(actual, digest, StringComparison.Ordinal))
        {
            throw ImageStoreException.Invalid($"body: {what} blob {digest} does not match its content (digest {actual})");
        }
        if (descriptor.TryGetProperty("size", out var size) && size.TryGetInt64(out var declared) && declared != new FileInfo(path).Length)
        {
            throw ImageStoreException.Invalid($"body: {what} blob {digest} is {new FileInfo(path).Length} bytes, its descriptor says {declared}");
        }
        return (digest, path);
    }

    private static ImageArchiveContents ReadDocker(Func<string, string?> resolve)
    {
        using var manifest = ParseJson(resolve("manifest.json")!, "manifest.json");
        if (manifest.RootElement.ValueKind != JsonValueKind.Array || manifest.RootElement.GetArrayLength() == 0
            || manifest.RootElement[0].ValueKind != JsonValueKind.Object)
        {
            throw ImageStoreException.Invalid("body: manifest.json is not a list of images");
        }
        var image = manifest.RootElement[0];
        if (!image.TryGetProperty("Layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
        {
            throw ImageStoreException.Invalid("body: manifest.json names no Layers");
        }

        // The config's rootfs.diff_ids are the digests of the uncompressed layers: verified as they are applied.
        var diffIds = new List<string>();
        if (image.TryGetProperty("Config", out var config) && config.ValueKind == JsonValueKind.String)
        {
            var configName = LayerPaths.Normalize(config.GetString()!, "Config");
            var configPath = resolve(configName) ?? throw ImageStoreException.Invalid($"body: the image config {Shorten(configName)} is missing from the archive");
            VerifyNamedBlob(configName, configPath, "config");
            using var configDocument = ParseJson(configPath, "the image config");
            if (configDocument.RootElement.ValueKind == JsonValueKind.Object
                && configDocument.RootElement.TryGetProperty("rootfs", out var rootfs) && rootfs.ValueKind == JsonValueKind.Object
                && rootfs.TryGetProperty("diff_ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
            {
                diffIds.AddRange(ids.EnumerateArray().Select(id => id.ValueKind == JsonValueKind.String ? id.GetString()! : ""));
            }
        }
        if (diffIds.Count != 0 && diffIds.Count != layers.GetArrayLength())
        {
            throw ImageStoreException.Invalid($"body: the config lists {diffIds.Count} layer digests for {layers.GetArrayLength()} layers");
        }

        var result = new List<LayerBlob>();
        var i = 0;
        foreach (var layer in layers.EnumerateArray())
        {
            if (layer.ValueKind != JsonValueKind.String)
            {
                throw ImageStoreException.Invalid("body: manifest.json Layers must be paths");
            }
            var name = LayerPaths.Normalize(layer.GetString()!, "layer path");
            var path = resolve(name) ?? throw ImageStoreException.Invalid($"body: layer {Shorten(name)} is missing from the archive");
            var digest = VerifyNamedBlob(name, path, "layer");
            result.Add(new LayerBlob(name, path, digest, diffIds.Count == 0 ? null : diffIds[i]));
            i++;
        }
        return new ImageArchiveContents(DockerFormat, result);
    }

    /// <summary>The blob's digest; checked against its name where the name is one (blobs/sha256/HEX, HEX.json).</summary>
    private static string VerifyNamedBlob(string name, string path, string what)
    {
        var digest = ImageStreams.Sha256File(path);
        var file = name.Split('/')[^1];
        var stem = file.EndsWith(".json", StringComparison.Ordinal) ? file[..^5] : file;
        var named = name.StartsWith("blobs/sha256/", StringComparison.Ordinal) || (file != stem && stem.Length == 64);
        if (named && stem.Length == 64 && stem.All(char.IsAsciiHexDigitLower) && !string.Equals("sha256:" + stem, digest, StringComparison.Ordinal))
        {
            throw ImageStoreException.Invalid($"body: {what} {Shorten(name)} does not match its content (digest {digest})");
        }
        return digest;
    }

    private static JsonDocument ParseJson(string path, string what)
    {
        if (new FileInfo(path).Length > MaxMetadataBytes)
        {
            throw ImageStoreException.Invalid($"body: {what} is larger than {MaxMetadataBytes} bytes");
        }
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw ImageStoreException.Invalid($"body: {what} is not valid JSON ({e.Message})", e);
        }
    }

    internal static string Shorten(string value) => value.Length <= 96 ? value : value[..96] + "…";
}
