using System.Formats.Tar;
using Microsoft.Extensions.Time.Testing;
using Skiff.Runtime.Images;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Images;

// Real files: archives built with System.Formats.Tar, unpacked into a real store directory.
public sealed class ImageStoreTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly string _images;
    private ImageStore _store;

    public ImageStoreTests()
    {
        _images = _root.Combine("images");
        _store = NewStore();
    }

    public void Dispose() => _root.Dispose();

    // No host busybox here: these tests are about imports, and the busybox build is covered by the container tests.
    private ImageStore NewStore(long maxArchive = 64 * 1024 * 1024, long maxUnpacked = 64 * 1024 * 1024, int keep = 10) => new(new ImageStoreOptions
    {
        Directory = _images,
        MaxArchiveBytes = maxArchive,
        MaxUnpackedBytes = maxUnpacked,
        KeepVersions = keep,
        BusyboxPath = _root.Combine("no-busybox"),
        TimeProvider = _time,
    });

    private string Archive(string name = "image.tar") => _root.Combine(name);

    private static TestLayer Base() => new TestLayer()
        .Directory("etc").File("etc/os-release", "base\n")
        .Directory("app").File("app/old.txt", "old\n").File("app/keep.txt", "keep\n")
        .Directory("cache").File("cache/a", "a").File("cache/b", "b")
        .Symlink("app/link", "/app/keep.txt");

    private static TestLayer Top() => new TestLayer()
        .Whiteout("app/old.txt")
        .Opaque("cache")
        .File("cache/c", "c")
        .File("app/new.txt", "new\n", (UnixFileMode)0x9ED) // setuid 0755: the bit must be dropped
        .HardLink("app/hard.txt", "app/keep.txt");

    private void AssertLayered(ImageRecord image)
    {
        var rootfs = Path.Combine(_images, image.Rootfs);
        Assert.Equal("base\n", File.ReadAllText(Path.Combine(rootfs, "etc/os-release")));
        Assert.False(File.Exists(Path.Combine(rootfs, "app/old.txt")), "whiteout did not remove app/old.txt");
        Assert.Equal("keep\n", File.ReadAllText(Path.Combine(rootfs, "app/keep.txt")));
        Assert.Equal("new\n", File.ReadAllText(Path.Combine(rootfs, "app/new.txt")));
        Assert.Equal("/app/keep.txt", new FileInfo(Path.Combine(rootfs, "app/link")).LinkTarget);
        Assert.Equal("keep\n", File.ReadAllText(Path.Combine(rootfs, "app/hard.txt")));
        Assert.Equal(["c"], Directory.GetFileSystemEntries(Path.Combine(rootfs, "cache")).Select(e => Path.GetFileName(e)!).ToArray());
        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(Path.Combine(rootfs, "app/new.txt")));
        foreach (var mountPoint in (string[])["proc", "sys", "dev", "tmp", "work", "output"])
        {
            Assert.True(Directory.Exists(Path.Combine(rootfs, mountPoint)), mountPoint);
        }
        Assert.True(File.Exists(Path.Combine(rootfs, ".skiff/tini")));
        Assert.StartsWith("sha256:", image.Digest, StringComparison.Ordinal);
        Assert.True(image.Size > 0);
    }

    [Fact]
    public async Task ImportAsync_OciLayoutWithWhiteouts_AppliesLayersInOrder()
    {
        TestImages.WriteOci(Archive(), [Base().Gzip(), Top().Gzip()]);

        var import = await _store.ImportAsync("app", Archive(), force: false);

        Assert.Equal(ImageImportOutcome.Created, import.Outcome);
        Assert.Equal("oci-layout", import.Image.Source);
        Assert.Equal("app:latest", import.Image.Reference.ToString());
        AssertLayered(import.Image);
        Assert.Equal(import.Image, _store.Find("app:latest"));
    }

    [Fact]
    public async Task ImportAsync_DockerSaveWithWhiteouts_AppliesLayersInOrder()
    {
        // Uncompressed layers (as docker save writes them) with diff_ids checked.
        TestImages.WriteDocker(Archive(), [Base().Tar(), Top().Tar()]);

        var import = await _store.ImportAsync("team/app:v1", Archive(), force: false);

        Assert.Equal("docker-save", import.Image.Source);
        AssertLayered(import.Image);
        Assert.Contains(_store.List(), i => i.Name == "team/app" && i.Tag == "v1");
    }

    [Fact]
    public async Task ImportAsync_SameLayersTwice_SharesOneRootfs()
    {
        var layer = Base().Gzip();
        TestImages.WriteOci(Archive("a.tar"), [layer]);
        TestImages.WriteDocker(Archive("b.tar"), [layer]);

        var first = await _store.ImportAsync("one", Archive("a.tar"), force: false);
        var second = await _store.ImportAsync("two", Archive("b.tar"), force: false);

        Assert.Equal(first.Image.Digest, second.Image.Digest);
        Assert.Equal(first.Image.Rootfs, second.Image.Rootfs);
        Assert.Single(Directory.GetDirectories(Path.Combine(_images, "rootfs")));
    }

    public static TheoryData<string, Func<TestLayer>, string> HostileLayers => new()
    {
        { "parent traversal", () => new TestLayer().File("../evil.txt", "x"), "contains '..'" },
        { "nested traversal", () => new TestLayer().Directory("a").File("a/../../evil.txt", "x"), "contains '..'" },
        { "absolute path", () => new TestLayer().File("/etc/evil.txt", "x"), "absolute path" },
        { "relative symlink escaping", () => new TestLayer().Symlink("escape", "../../../../../../tmp"), "points outside the image's root" },
        { "file written through an absolute symlink", () => new TestLayer().Symlink("out", "HOSTDIR").File("out/evil.txt", "x"), "written through the symbolic link 'out'" },
        { "file written through a relative symlink to a directory", () => new TestLayer().Directory("d").Symlink("l", "d").File("l/evil.txt", "x"), "written through the symbolic link 'l'" },
        { "hard link to outside", () => new TestLayer().HardLink("passwd", "../../../../etc/passwd"), "contains '..'" },
        { "hard link to an absolute host path", () => new TestLayer().HardLink("passwd", "/etc/passwd"), "absolute path" },
        { "hard link through a symlink", () => new TestLayer().Symlink("etc", "/etc").HardLink("passwd", "etc/passwd"), "written through the symbolic link 'etc'" },
        { "character device", () => new TestLayer().Node("dev/mem", TarEntryType.CharacterDevice), "CharacterDevice node" },
        { "block device", () => new TestLayer().Node("sda", TarEntryType.BlockDevice), "BlockDevice node" },
        { "fifo", () => new TestLayer().Node("pipe", TarEntryType.Fifo), "Fifo node" },
    };

    [Theory]
    [MemberData(nameof(HostileLayers))]
    public async Task ImportAsync_HostileLayer_RefusedAndNothingLeft(string scenario, Func<TestLayer> layer, string expected)
    {
        var hostDirectory = Directory.CreateDirectory(_root.Combine("host-target")).FullName;
        var built = layer();
        // The escaping symlink's target: a real directory of the host, which must stay empty.
        var bytes = ReplaceLinkTarget(built, hostDirectory);
        TestImages.WriteOci(Archive(), [new TestLayer().File("ok.txt", "fine").Gzip(), TestImages.Gzip(bytes)]);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("hostile", Archive(), force: false));

        Assert.True(error.Error == ImageError.Invalid, scenario);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("body: ", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(hostDirectory));
        AssertNothingImported();
    }

    // The symlink test needs the test's own host directory as its target: rebuilt with it.
    private static byte[] ReplaceLinkTarget(TestLayer layer, string hostDirectory)
    {
        using var input = new MemoryStream(layer.Tar());
        using var reader = new TarReader(input);
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            while (reader.GetNextEntry(copyData: true) is { } entry)
            {
                if (entry.LinkName == "HOSTDIR")
                {
                    entry.LinkName = hostDirectory;
                }
                writer.WriteEntry(entry);
            }
        }
        return output.ToArray();
    }

    [Fact]
    public async Task ImportAsync_TruncatedGzipLayer_Refused()
    {
        var gzip = new TestLayer().File("big.bin", Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7 % 251)).ToArray()).Gzip();
        // Legacy docker save without diff_ids: only the gzip stream itself can tell the layer is cut short.
        TestImages.WriteDocker(Archive(), [gzip[..(gzip.Length - 20)]], withDiffIds: false);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("cut", Archive(), force: false));

        Assert.Equal(ImageError.Invalid, error.Error);
        Assert.Contains("layer0/layer.tar is not a readable tar or tar.gz stream", error.Message, StringComparison.Ordinal);
        AssertNothingImported();
    }

    [Fact]
    public async Task ImportAsync_OverUnpackedLimit_RefusedAsTooLarge()
    {
        _store = NewStore(maxUnpacked: 256 * 1024);
        TestImages.WriteOci(Archive(), [new TestLayer().File("zeros.bin", new byte[1024 * 1024]).Gzip()]);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("bomb", Archive(), force: false));

        Assert.Equal(ImageError.TooLarge, error.Error);
        Assert.Contains("more than 262144 bytes", error.Message, StringComparison.Ordinal);
        AssertNothingImported();
    }

    [Fact]
    public async Task ImportAsync_OverArchiveLimit_RefusedAsTooLarge()
    {
        _store = NewStore(maxArchive: 4096);
        TestImages.WriteOci(Archive(), [new TestLayer().File("random.bin", System.Security.Cryptography.RandomNumberGenerator.GetBytes(16 * 1024)).Tar()]);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("big", Archive(), force: false));

        Assert.Equal(ImageError.TooLarge, error.Error);
        AssertNothingImported();
    }

    [Fact]
    public async Task ImportAsync_OciLayerDigestMismatch_Refused()
    {
        var layer = new TestLayer().File("a", "a").Gzip();
        var claimed = TestImages.Digest(new TestLayer().File("b", "b").Gzip());
        TestImages.WriteOci(Archive(), [layer], [claimed]);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("mismatch", Archive(), force: false));

        Assert.Contains($"layer blob {claimed} is missing from the archive", error.Message, StringComparison.Ordinal);
        AssertNothingImported();
    }

    [Fact]
    public async Task ImportAsync_OciBlobTampered_Refused()
    {
        var layer = new TestLayer().File("a", "a").Gzip();
        TestImages.WriteOci(Archive("good.tar"), [layer]);
        // Same archive, but the layer blob's bytes changed under its digest name.
        var digestHex = TestImages.Digest(layer)["sha256:".Length..];
        var tampered = new TestLayer().File("a", "evil").Gzip();
        RewriteArchive(Archive("good.tar"), Archive(), name => name == "blobs/sha256/" + digestHex ? tampered : null);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("tampered", Archive(), force: false));

        Assert.Contains("does not match its content", error.Message, StringComparison.Ordinal);
        AssertNothingImported();
    }

    [Fact]
    public async Task ImportAsync_DockerDiffIdMismatch_Refused()
    {
        TestImages.WriteDocker(Archive(), [new TestLayer().File("a", "a").Tar()], diffIds: [TestImages.Digest([1, 2, 3])]);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("mismatch", Archive(), force: false));

        Assert.Contains("does not match its uncompressed digest", error.Message, StringComparison.Ordinal);
        AssertNothingImported();
    }

    public static TheoryData<string, string, string> BrokenArchives => new()
    {
        { "no manifest", "readme.txt", "not an image archive" },
        { "garbled manifest", "manifest.json", "manifest.json is not valid JSON" },
        { "garbled OCI index", "index.json", "index.json is not valid JSON" },
        { "outer traversal", "../manifest.json", "contains '..'" },
    };

    [Theory]
    [MemberData(nameof(BrokenArchives))]
    public async Task ImportAsync_MalformedArchive_Refused(string scenario, string file, string expected)
    {
        TestImages.WriteArchive(Archive(), [(file, "{ not json"u8.ToArray())]);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("broken", Archive(), force: false));

        Assert.True(error.Error == ImageError.Invalid, scenario);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        AssertNothingImported();
    }

    [Fact]
    public async Task ImportAsync_NotATar_Refused()
    {
        await File.WriteAllBytesAsync(Archive(), TestImages.Gzip("just some text, not a tar archive at all"u8.ToArray()));

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("text", Archive(), force: false));

        Assert.Equal(ImageError.Invalid, error.Error);
        AssertNothingImported();
    }

    [Theory]
    [InlineData("UPPER")]
    [InlineData("a b")]
    [InlineData("/lead")]
    [InlineData("a//b")]
    [InlineData("a/../b")]
    [InlineData("name:")]
    [InlineData("name:-tag")]
    public async Task ImportAsync_InvalidName_RefusedNamingName(string name)
    {
        TestImages.WriteOci(Archive(), [new TestLayer().File("a", "a").Gzip()]);

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync(name, Archive(), force: false));

        Assert.Equal(ImageError.Invalid, error.Error);
        Assert.StartsWith("name: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImportAsync_ExistingTag_SameContentUnchangedOtherContentRefusedUnlessForced()
    {
        TestImages.WriteOci(Archive("v1.tar"), [new TestLayer().File("v", "1").Gzip()]);
        TestImages.WriteOci(Archive("v2.tar"), [new TestLayer().File("v", "2").Gzip()]);
        var first = await _store.ImportAsync("app:1.0", Archive("v1.tar"), force: false);
        _time.Advance(TimeSpan.FromMinutes(1));

        var again = await _store.ImportAsync("app:1.0", Archive("v1.tar"), force: false);
        var refused = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync("app:1.0", Archive("v2.tar"), force: false));
        Assert.Equal(first.Image.Digest, _store.Find("app:1.0")!.Digest);
        var forced = await _store.ImportAsync("app:1.0", Archive("v2.tar"), force: true);

        Assert.Equal(ImageImportOutcome.Unchanged, again.Outcome);
        Assert.Equal(first.Image.CreatedAt, again.Image.CreatedAt);
        Assert.Equal(ImageError.TagExists, refused.Error);
        Assert.Contains("tags are immutable", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ImageImportOutcome.Replaced, forced.Outcome);
        Assert.Equal("2", File.ReadAllText(Path.Combine(_images, _store.Find("app:1.0")!.Rootfs, "v")));
        // The replaced version's root is gone: nobody else used it.
        Assert.False(Directory.Exists(Path.Combine(_images, first.Image.Rootfs)));
    }

    [Fact]
    public async Task ImportAsync_MoreThanKeepVersions_RemovesOldest()
    {
        _store = NewStore(keep: 3);
        var roots = new List<string>();
        for (var i = 1; i <= 5; i++)
        {
            TestImages.WriteOci(Archive(), [new TestLayer().File("v", i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Gzip()]);
            var import = await _store.ImportAsync($"app:v{i}", Archive(), force: false);
            roots.Add(import.Image.Rootfs);
            Assert.Equal(i > 3 ? [$"v{i - 3}"] : Array.Empty<string>(), import.Pruned.Select(p => p.Tag).ToArray());
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(["v5", "v4", "v3"], _store.List().Where(i => i.Name == "app").Select(i => i.Tag).ToArray());
        Assert.False(Directory.Exists(Path.Combine(_images, roots[0])));
        Assert.False(Directory.Exists(Path.Combine(_images, roots[1])));
        Assert.True(Directory.Exists(Path.Combine(_images, roots[4])));
        // A new store over the same directory reads the same index.
        Assert.Equal(["v5", "v4", "v3"], NewStore().List().Where(i => i.Name == "app").Select(i => i.Tag).ToArray());
    }

    [Fact]
    public async Task RemoveAsync_TagThenName_RemovesVersionsAndTheirRoots()
    {
        TestImages.WriteOci(Archive("a.tar"), [new TestLayer().File("v", "a").Gzip()]);
        TestImages.WriteOci(Archive("b.tar"), [new TestLayer().File("v", "b").Gzip()]);
        var a = await _store.ImportAsync("app:a", Archive("a.tar"), force: false);
        var b = await _store.ImportAsync("app:b", Archive("b.tar"), force: false);

        var removedA = await _store.RemoveAsync("app:a");
        Assert.Equal(["a"], removedA.Select(r => r.Tag).ToArray());
        Assert.False(Directory.Exists(Path.Combine(_images, a.Image.Rootfs)));
        Assert.NotNull(_store.Find("app:b"));

        await _store.RemoveAsync("app");
        Assert.Null(_store.Find("app:b"));
        Assert.False(Directory.Exists(Path.Combine(_images, b.Image.Rootfs)));
        var missing = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync("app"));
        Assert.Equal(ImageError.NotFound, missing.Error);
    }

    [Fact]
    public async Task RemoveAsync_WhileLeased_KeepsRootUntilReleased()
    {
        TestImages.WriteOci(Archive(), [new TestLayer().File("v", "a").Gzip()]);
        var import = await _store.ImportAsync("app", Archive(), force: false);
        var lease = await _store.AcquireAsync("app");
        Assert.NotNull(lease);

        await _store.RemoveAsync("app");
        Assert.True(Directory.Exists(lease.RootfsPath), "a running task's root was deleted under it");
        Assert.Null(await _store.AcquireAsync("app"));
        lease.Dispose();

        Assert.False(Directory.Exists(Path.Combine(_images, import.Image.Rootfs)));
    }

    [Theory]
    [InlineData("host")]
    [InlineData("host:latest")]
    [InlineData("busybox")]
    public async Task BuiltIns_CannotBeRemovedOrOverwritten(string name)
    {
        TestImages.WriteOci(Archive(), [new TestLayer().File("v", "a").Gzip()]);

        var removal = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync(name));
        var import = await Assert.ThrowsAsync<ImageStoreException>(() => _store.ImportAsync(name, Archive(), force: true));

        Assert.Equal(ImageError.BuiltIn, removal.Error);
        Assert.Equal(ImageError.BuiltIn, import.Error);
    }

    [Fact]
    public async Task InitializeAsync_HostImage_HasLinksMountPointsAndBinds()
    {
        var problems = await _store.InitializeAsync();

        var host = _store.Find("host");
        Assert.NotNull(host);
        Assert.True(host.BuiltIn);
        Assert.Equal(["/usr", "/etc"], host.HostBinds);
        var rootfs = Path.Combine(_images, host.Rootfs);
        Assert.Equal("usr/bin", new FileInfo(Path.Combine(rootfs, "bin")).LinkTarget);
        Assert.Equal("usr/lib", new FileInfo(Path.Combine(rootfs, "lib")).LinkTarget);
        Assert.Equal("usr/lib64", new FileInfo(Path.Combine(rootfs, "lib64")).LinkTarget);
        Assert.Equal("usr/sbin", new FileInfo(Path.Combine(rootfs, "sbin")).LinkTarget);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(rootfs, "usr")));
        Assert.False(Directory.Exists(Path.Combine(rootfs, "root")));
        Assert.False(Directory.Exists(Path.Combine(rootfs, "home")));
        // No busybox on this store's path: said, not thrown.
        Assert.Contains(problems, p => p.Contains("busybox", StringComparison.Ordinal));
        Assert.Null(_store.Find("busybox"));
    }

    [Fact]
    public async Task InitializeAsync_CrashLeftovers_Removed()
    {
        TestImages.WriteOci(Archive(), [new TestLayer().File("v", "a").Gzip()]);
        var kept = await _store.ImportAsync("app", Archive(), force: false);
        Directory.CreateDirectory(Path.Combine(_images, "staging", "half", "rootfs"));
        Directory.CreateDirectory(Path.Combine(_images, "rootfs", new string('0', 64)));
        Directory.CreateDirectory(Path.Combine(_images, "uploads"));
        await File.WriteAllTextAsync(Path.Combine(_images, "uploads", "x.tar"), "partial");

        await NewStore().InitializeAsync();

        Assert.False(Directory.Exists(Path.Combine(_images, "staging")));
        Assert.False(Directory.Exists(Path.Combine(_images, "uploads")));
        Assert.False(Directory.Exists(Path.Combine(_images, "rootfs", new string('0', 64))));
        Assert.True(Directory.Exists(Path.Combine(_images, kept.Image.Rootfs)));
    }

    /// <summary>No record, no root, no staging: a refused import leaves exactly the built-ins.</summary>
    private void AssertNothingImported()
    {
        Assert.All(_store.List(), i => Assert.True(i.BuiltIn, $"{i.Reference} was imported"));
        Assert.Empty(Directory.Exists(Path.Combine(_images, "rootfs")) ? Directory.GetFileSystemEntries(Path.Combine(_images, "rootfs")) : []);
        Assert.Empty(Directory.Exists(Path.Combine(_images, "staging")) ? Directory.GetFileSystemEntries(Path.Combine(_images, "staging")) : []);
        Assert.All(NewStore().List(), i => Assert.True(i.BuiltIn));
    }

    private static void RewriteArchive(string source, string destination, Func<string, byte[]?> replace)
    {
        var files = new List<(string, byte[])>();
        using (var input = File.OpenRead(source))
        using (var reader = new TarReader(input))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                using var content = new MemoryStream();
                entry.DataStream?.CopyTo(content);
                files.Add((entry.Name, replace(entry.Name) ?? content.ToArray()));
            }
        }
        TestImages.WriteArchive(destination, files);
    }
}
