using Skiff.Server.Scheduling;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Scheduling;

/// <summary>Work directories are moved from one attempt to the next instead of removed and created, only when empty.</summary>
public sealed class WorkDirectoryPoolTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly WorkDirectoryPool _pool;

    public WorkDirectoryPoolTests()
    {
        _pool = new WorkDirectoryPool(_root.Combine("spare-work"));
    }

    public void Dispose() => _root.Dispose();

    private string Attempt(string name) => Directory.CreateDirectory(_root.Combine("tasks", name)).FullName;

    [Fact]
    public void Recycle_EmptyDirectory_MovedIntoTheNextAttempt()
    {
        var first = Path.Combine(Attempt("a"), "work");
        _pool.Create(first);
        var inode = Inode(first);

        _pool.Recycle(first);
        var second = Path.Combine(Attempt("b"), "work");
        _pool.Create(second);

        Assert.False(Directory.Exists(first));
        Assert.True(Directory.Exists(second));
        Assert.Equal(inode, Inode(second));
        Assert.Empty(Directory.GetFileSystemEntries(_root.Combine("spare-work")));
    }

    [Fact]
    public void Recycle_DirectoryWithFiles_DeletedNotReused()
    {
        var first = Path.Combine(Attempt("a"), "work");
        _pool.Create(first);
        Directory.CreateDirectory(Path.Combine(first, "sub"));
        File.WriteAllText(Path.Combine(first, "sub", "scratch.txt"), "x");

        _pool.Recycle(first);

        Assert.False(Directory.Exists(first));
        Assert.False(Directory.Exists(_root.Combine("spare-work")) && Directory.GetFileSystemEntries(_root.Combine("spare-work")).Length > 0);
    }

    [Fact]
    public void Recycle_ModeChangedByTheTask_DeletedNotReused()
    {
        var first = Path.Combine(Attempt("a"), "work");
        _pool.Create(first);
        File.SetUnixFileMode(first, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        _pool.Recycle(first);
        var second = Path.Combine(Attempt("b"), "work");
        _pool.Create(second);

        Assert.False(Directory.Exists(first));
        Assert.NotEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(second));
    }

    [Fact]
    public void Recycle_ReplacedBySymlinkToAnEmptyDirectory_NotHandedOn()
    {
        // A task that swaps its work directory for a link to an empty directory of its choosing must not get
        // that link into the next attempt's place.
        var elsewhere = Directory.CreateDirectory(_root.Combine("elsewhere")).FullName;
        var first = Path.Combine(Attempt("a"), "work");
        _pool.Create(first);
        File.SetUnixFileMode(elsewhere, File.GetUnixFileMode(first));
        Directory.Delete(first);
        Directory.CreateSymbolicLink(first, elsewhere);

        _pool.Recycle(first);
        var second = Path.Combine(Attempt("b"), "work");
        _pool.Create(second);

        Assert.Null(new DirectoryInfo(second).LinkTarget);
        Assert.True(Directory.Exists(elsewhere));
    }

    [Fact]
    public void Create_SpareWrittenToAfterItWasRecycled_GivesAnEmptyDirectory()
    {
        // A process that escaped its attempt's kill may still write into the directory it started in.
        var first = Path.Combine(Attempt("a"), "work");
        _pool.Create(first);
        _pool.Recycle(first);
        var spare = Assert.Single(Directory.GetDirectories(_root.Combine("spare-work")));
        File.WriteAllText(Path.Combine(spare, "late.txt"), "from an escaped process");

        var second = Path.Combine(Attempt("b"), "work");
        _pool.Create(second);

        Assert.True(Directory.Exists(second));
        Assert.Empty(Directory.GetFileSystemEntries(second));
    }

    [Fact]
    public void Recycle_SpareDirectoryOfAPreviousProcess_RemovedNotAdopted()
    {
        var stale = Directory.CreateDirectory(_root.Combine("spare-work", "7")).FullName;
        File.WriteAllText(Path.Combine(stale, "left.txt"), "x");
        var first = Path.Combine(Attempt("a"), "work");
        _pool.Create(first);

        _pool.Recycle(first);

        Assert.False(Directory.Exists(stale) && File.Exists(Path.Combine(stale, "left.txt")));
        Assert.Single(Directory.GetDirectories(_root.Combine("spare-work")));
    }

    [Fact]
    public async Task CreateAndRecycle_ManyAttemptsAtOnce_EachGetsItsOwnEmptyDirectory()
    {
        var paths = Enumerable.Range(0, 64).Select(i => Path.Combine(Attempt($"t{i}"), "work")).ToList();

        await Task.WhenAll(paths.Select(path => Task.Run(() =>
        {
            _pool.Create(path);
            Assert.Empty(Directory.GetFileSystemEntries(path));
            File.WriteAllText(Path.Combine(path, "mine.txt"), path);
            Assert.Equal(path, File.ReadAllText(Path.Combine(path, "mine.txt")));
            File.Delete(Path.Combine(path, "mine.txt"));
            _pool.Recycle(path);
        })));

        Assert.All(paths, path => Assert.False(Directory.Exists(path)));
    }

    private static ulong Inode(string path)
    {
        // The inode number is field 1 of stat's output; File APIs do not expose it.
        var psi = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(psi)!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return ulong.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
