using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Skiff.Runtime.Tests.Images;

/// <summary>One layer tarball, entry by entry (hostile ones included), built with System.Formats.Tar.</summary>
public sealed class TestLayer
{
    private const UnixFileMode Mode755 = (UnixFileMode)0x1ED;
    private const UnixFileMode Mode644 = (UnixFileMode)0x1A4;

    private readonly List<TarEntry> _entries = [];

    public TestLayer Directory(string name)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = Mode755 });
        return this;
    }

    public TestLayer File(string name, string content, UnixFileMode mode = Mode644) => File(name, Encoding.UTF8.GetBytes(content), mode);

    public TestLayer File(string name, byte[] content, UnixFileMode mode = Mode644)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = mode, DataStream = new MemoryStream(content) });
        return this;
    }

    public TestLayer Symlink(string name, string target)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Mode = (UnixFileMode)0x1FF });
        return this;
    }

    public TestLayer HardLink(string name, string target)
    {
        _entries.Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, Mode = Mode644 });
        return this;
    }

    public TestLayer Node(string name, TarEntryType type)
    {
        var entry = new PaxTarEntry(type, name) { Mode = Mode644 };
        if (type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
        {
            (entry.DeviceMajor, entry.DeviceMinor) = (1, 3);
        }
        _entries.Add(entry);
        return this;
    }

    /// <summary>Removes <paramref name="path"/> of lower layers.</summary>
    public TestLayer Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        return File(slash < 0 ? ".wh." + path : path[..(slash + 1)] + ".wh." + path[(slash + 1)..], "");
    }

    /// <summary>Hides everything lower layers put in <paramref name="directory"/>.</summary>
    public TestLayer Opaque(string directory) => File(directory + "/.wh..wh..opq", "");

    public byte[] Tar()
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in _entries)
            {
                entry.DataStream?.Seek(0, SeekOrigin.Begin);
                writer.WriteEntry(entry);
            }
        }
        return buffer.ToArray();
    }

    public byte[] Gzip() => TestImages.Gzip(Tar());
}

/// <summary>Image tarballs in the two formats the store reads.</summary>
internal static class TestImages
{
    public static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }
        return buffer.ToArray();
    }

    public static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static string Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// An OCI image layout: oci-layout, index.json, blobs/sha256/{manifest,config,layers}. <paramref name="layerDigests"/>
    /// replaces what the manifest claims a layer's digest is (for mismatch tests).
    /// </summary>
    public static void WriteOci(string path, IReadOnlyList<byte[]> layers, IReadOnlyList<string>? layerDigests = null)
    {
        var blobs = new Dictionary<string, byte[]>();
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() },
        }.ToJsonString());
        blobs[Hex(config)] = config;
        var layerArray = new JsonArray();
        for (var i = 0; i < layers.Count; i++)
        {
            blobs[Hex(layers[i])] = layers[i];
            layerArray.Add(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip",
                ["digest"] = layerDigests?[i] ?? Digest(layers[i]),
                ["size"] = layers[i].Length,
            });
        }
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Digest(config), ["size"] = config.Length },
            ["layers"] = layerArray,
        }.ToJsonString());
        blobs[Hex(manifest)] = manifest;
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["digest"] = Digest(manifest),
                ["size"] = manifest.Length,
            }),
        };
        var files = new List<(string, byte[])>
        {
            ("oci-layout", Encoding.UTF8.GetBytes("""{"imageLayoutVersion":"1.0.0"}""")),
            ("index.json", Encoding.UTF8.GetBytes(index.ToJsonString())),
        };
        files.AddRange(blobs.Select(b => ("blobs/sha256/" + b.Key, b.Value)));
        WriteArchive(path, files);
    }

    /// <summary>
    /// A classic <c>docker save</c> tarball: manifest.json, &lt;hex&gt;.json config with rootfs.diff_ids (unless
    /// <paramref name="withDiffIds"/> is false), and each layer at &lt;n&gt;/layer.tar.
    /// </summary>
    public static void WriteDocker(string path, IReadOnlyList<byte[]> layers, bool withDiffIds = true, IReadOnlyList<string>? diffIds = null)
    {
        var ids = new JsonArray();
        foreach (var (layer, i) in layers.Select((l, i) => (l, i)))
        {
            ids.Add(diffIds?[i] ?? Digest(Uncompressed(layer)));
        }
        var configObject = new JsonObject { ["architecture"] = "amd64", ["os"] = "linux" };
        if (withDiffIds)
        {
            configObject["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = ids };
        }
        var config = Encoding.UTF8.GetBytes(configObject.ToJsonString());
        var layerPaths = layers.Select((_, i) => $"layer{i}/layer.tar").ToList();
        var manifest = new JsonArray(new JsonObject
        {
            ["Config"] = Hex(config) + ".json",
            ["RepoTags"] = new JsonArray("test:latest"),
            ["Layers"] = new JsonArray([.. layerPaths.Select(p => (JsonNode)p)]),
        });
        var files = new List<(string, byte[])>
        {
            ("manifest.json", Encoding.UTF8.GetBytes(manifest.ToJsonString())),
            (Hex(config) + ".json", config),
        };
        files.AddRange(layers.Select((l, i) => (layerPaths[i], l)));
        WriteArchive(path, files);
    }

    public static void WriteArchive(string path, IEnumerable<(string Name, byte[] Content)> files)
    {
        using var stream = System.IO.File.Create(path);
        using var writer = new TarWriter(stream, TarEntryFormat.Pax);
        foreach (var (name, content) in files)
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1A4 });
        }
    }

    private static byte[] Uncompressed(byte[] layer)
    {
        if (layer.Length < 2 || layer[0] != 0x1f || layer[1] != 0x8b)
        {
            return layer;
        }
        using var gzip = new GZipStream(new MemoryStream(layer), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }
}
