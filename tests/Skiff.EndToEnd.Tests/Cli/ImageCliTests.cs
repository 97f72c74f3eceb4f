using System.Formats.Tar;
using System.Text;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary><c>skiff image import|ls|rm</c> as a user runs them: real CLI processes against a real server.</summary>
public sealed class ImageCliTests(CliServerFixture fixture) : IClassFixture<CliServerFixture>
{
    /// <summary>A docker save tarball of one layer holding one file, written into the CLI's working directory.</summary>
    private string WriteTarball(string fileName, string content, string entryName = "hello.txt")
    {
        using var layer = new MemoryStream();
        using (var writer = new TarWriter(layer, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entryName) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        }
        Directory.CreateDirectory(fixture.WorkingDirectory);
        var path = Path.Combine(fixture.WorkingDirectory, fileName);
        using var archive = File.Create(path);
        using var outer = new TarWriter(archive, TarEntryFormat.Pax);
        outer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest.json")
        {
            DataStream = new MemoryStream("""[{"Config":null,"Layers":["l/layer.tar"]}]"""u8.ToArray()),
        });
        outer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "l/layer.tar") { DataStream = new MemoryStream(layer.ToArray()) });
        return fileName;
    }

    [Fact]
    public async Task ImageCommands_ImportListForceRemove_Lifecycle()
    {
        var name = "cli/app-" + Guid.NewGuid().ToString("N")[..8];
        var v1 = WriteTarball("v1.tar", "one");
        var v2 = WriteTarball("v2.tar", "two");

        var import = await fixture.RunAsync("image", "import", name + ":1", v1);
        var again = await fixture.RunAsync("image", "import", name + ":1", v1);
        var refused = await fixture.RunAsync("image", "import", name + ":1", v2);
        var forced = await fixture.RunAsync("image", "import", name + ":1", v2, "--force");
        var list = await fixture.RunAsync("image", "ls");

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Matches($@"^{name}:1 created sha256:[0-9a-f]{{64}} \(", import.Stdout.Trim());
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains($"{name}:1 unchanged", again.Stdout, StringComparison.Ordinal);
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Single(refused.Stderr.Trim().Split('\n'));
        Assert.Contains("immutable", refused.Stderr, StringComparison.Ordinal);
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Contains($"{name}:1 replaced", forced.Stdout, StringComparison.Ordinal);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"(?m)^NAME\s+TAG\s+DIGEST\s+SIZE\s+CREATED\s+SOURCE$", list.Stdout);
        Assert.Matches(@"(?m)^busybox\s+latest\s+sha256:", list.Stdout);
        Assert.Matches(@"(?m)^host\s+latest\s+sha256:", list.Stdout);
        Assert.Matches($@"(?m)^{name}\s+1\s+sha256:\S+\s+3 B\s+.*docker-save$", list.Stdout);

        var remove = await fixture.RunAsync("image", "rm", name);
        var removeBuiltIn = await fixture.RunAsync("image", "rm", "busybox");
        var after = await fixture.RunAsync("image", "ls");

        Assert.True(remove.ExitCode == 0, remove.ToString());
        Assert.Equal($"{name} removed", remove.Stdout.Trim());
        Assert.True(removeBuiltIn.ExitCode == 1, removeBuiltIn.ToString());
        Assert.Contains("built-in", removeBuiltIn.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(name, after.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImageImport_HostileOrMissingFile_OneErrorLineNothingImported()
    {
        var name = "hostile-" + Guid.NewGuid().ToString("N")[..8];
        var hostile = WriteTarball("hostile.tar", "x", entryName: "../../escape.txt");

        var refused = await fixture.RunAsync("image", "import", name, hostile);
        var missing = await fixture.RunAsync("image", "import", name, "no-such-file.tar");
        var list = await fixture.RunAsync("image", "ls");

        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Single(refused.Stderr.Trim().Split('\n'));
        Assert.Contains("body", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("'..'", refused.Stderr, StringComparison.Ordinal);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.StartsWith("error: FILE: cannot read no-such-file.tar", missing.Stderr.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain(name, list.Stdout, StringComparison.Ordinal);
    }
}
