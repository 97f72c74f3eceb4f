using Skiff.Core.Tasks;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Images;
using Skiff.Runtime.Tests.Execution;
using Skiff.Runtime.Tests.Images;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Containers;

// Real containers under runc from images of a real store: an imported one and the built-in host image.
[Collection(RuncCollection.Name)]
public sealed class ImageContainerTests : RuncAttemptTests
{
    private readonly ImageStore _store;
    private readonly RuncExecutor _executor;

    public ImageContainerTests(RuncFixture fixture)
        : base(fixture)
    {
        _store = new ImageStore(new ImageStoreOptions { Directory = Root.Combine("data", "images") });
        _executor = new RuncExecutor(fixture.Options with { ImagesDirectory = _store.Directory, Images = _store });
    }

    private Task<ExecutionResult> RunAsync(string image, params string[] command) =>
        RunAsync(_executor, Request(command) with { Image = image });

    private string Stdout => string.Join("\n", Sink.Lines(LogStream.Stdout));

    [Fact]
    public async Task ExecuteAsync_ImportedImage_RunsFromItsLayersReadOnly()
    {
        Assert.True(Fixture.Available, Fixture.Problem);
        var busybox = await File.ReadAllBytesAsync(BusyboxImage.DefaultBusyboxPath);
        var bottom = new TestLayer().Directory("bin").File("bin/busybox", busybox, (UnixFileMode)0x1ED)
            .Symlink("bin/sh", "busybox").Symlink("bin/cat", "/bin/busybox").Symlink("bin/touch", "busybox")
            .Directory("etc").File("etc/greeting", "hello from a layer\n").File("etc/secret", "lower\n");
        var top = new TestLayer().Whiteout("etc/secret").File("etc/greeting", "hello from the top layer\n");
        var archive = Root.Combine("app.tar");
        TestImages.WriteOci(archive, [bottom.Gzip(), top.Gzip()]);
        await _store.ImportAsync("apps/hello:1", archive, force: false);

        var result = await RunAsync("apps/hello:1", "sh", "-c",
            "cat /etc/greeting; test -e /etc/secret || echo secret-gone; touch /etc/x 2>/dev/null || echo read-only");

        Assert.True(result.ExitCode == 0, $"{result.Status} {result.Error} {result.StderrTail}");
        Assert.Equal("hello from the top layer\nsecret-gone\nread-only", Stdout);
        // One root for every task: nothing was copied for this one, nothing written into it.
        Assert.False(File.Exists(Path.Combine(_store.Directory, _store.Find("apps/hello:1")!.Rootfs, "etc", "x")));
    }

    [Fact]
    public async Task ExecuteAsync_UnknownImage_FailsToStartNamingIt()
    {
        var result = await RunAsync("nosuch:v9", "true");

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Contains("unknown image 'nosuch:v9'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_HostImage_RunsHostToolsButSeesNoPrivateDirectories()
    {
        var marker = Root.Combine("data", "marker.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        await File.WriteAllTextAsync(marker, "private");
        var tool = File.Exists("/usr/bin/python3") ? "/usr/bin/python3 -c 'print(1)'" : "/usr/bin/env true && echo 1";

        var result = await RunAsync("host", "/bin/sh", "-c",
            $"{tool}; for p in /root /home {marker} {_store.Directory}; do test -e $p && echo visible:$p; done; "
            + "touch /usr/x 2>/dev/null || echo usr-read-only; touch /etc/x 2>/dev/null || echo etc-read-only; echo end");

        Assert.True(result.ExitCode == 0, $"{result.Status} {result.Error} {result.StderrTail}");
        Assert.Equal("1\nusr-read-only\netc-read-only\nend", Stdout);
    }
}
