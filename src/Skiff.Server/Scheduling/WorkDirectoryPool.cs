using System.Collections.Concurrent;

namespace Skiff.Server.Scheduling;

/// <summary>
/// Gives each attempt an empty work directory by moving in one that an ended attempt left empty, instead of
/// removing that one and creating another.
/// </summary>
/// <remarks>
/// <para>A rename allocates no inode. With <c>true</c> tasks the directories are most of the file-system work per
/// attempt, and on ext4 without a journal every inode allocation skips the inodes freed in the last minutes one
/// by one (<c>recently_deleted</c>): an rmdir per attempt made each later mkdir slower (bench/README.md).</para>
/// <para>A directory is handed out only if it is empty and has the mode of a fresh one, checked when it is taken,
/// so a process that escaped its attempt's kill and still writes there cannot leave anything to the next attempt;
/// one that is not is deleted as before. The process executor isolates nothing, so this is hygiene, not a boundary.</para>
/// </remarks>
internal sealed class WorkDirectoryPool
{
    private const int ModeUnknown = -1;

    private readonly string _spareDirectory;
    private readonly Lazy<bool> _spareDirectoryReady;
    private readonly ConcurrentBag<string> _spares = [];
    // The mode of a freshly created directory (umask applied); until one was created, nothing is recycled.
    private int _freshMode = ModeUnknown;
    private long _next;

    /// <param name="spareDirectory">Where empty directories wait, on the same file system as the attempts' directories.</param>
    public WorkDirectoryPool(string spareDirectory)
    {
        _spareDirectory = spareDirectory;
        _spareDirectoryReady = new(PrepareSpareDirectory, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Creates <paramref name="path"/> as an empty directory; its parent must exist.</summary>
    public void Create(string path)
    {
        var mode = Volatile.Read(ref _freshMode);
        if (mode != ModeUnknown)
        {
            while (_spares.TryTake(out var spare))
            {
                if (TryMove(spare, path))
                {
                    if (IsEmptyWithMode(path, (UnixFileMode)mode))
                    {
                        return;
                    }
                    TryDelete(path);
                }
            }
        }
        Directory.CreateDirectory(path);
        if (mode == ModeUnknown)
        {
            Volatile.Write(ref _freshMode, (int)File.GetUnixFileMode(path));
        }
    }

    /// <summary>Keeps <paramref name="path"/> for a later attempt if it is empty, else deletes it.</summary>
    public void Recycle(string path)
    {
        var mode = Volatile.Read(ref _freshMode);
        if (mode != ModeUnknown && IsEmptyWithMode(path, (UnixFileMode)mode))
        {
            try
            {
                _ = _spareDirectoryReady.Value;
                var spare = Path.Combine(_spareDirectory, Interlocked.Increment(ref _next).ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (TryMove(path, spare))
                {
                    _spares.Add(spare);
                    return;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Deleted below instead.
            }
        }
        TryDelete(path);
    }

    private bool PrepareSpareDirectory()
    {
        // What a previous server process left here is not known to be empty: removed, not adopted.
        TryDelete(_spareDirectory);
        Directory.CreateDirectory(_spareDirectory);
        return true;
    }

    private static bool IsEmptyWithMode(string path, UnixFileMode mode)
    {
        try
        {
            // A symbolic link put in the directory's place is never handed on, whatever it points at.
            return new DirectoryInfo(path) is { Exists: true, LinkTarget: null } && File.GetUnixFileMode(path) == mode
                && !Directory.EnumerateFileSystemEntries(path).Any();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool TryMove(string source, string destination)
    {
        try
        {
            Directory.Move(source, destination);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: retention removes the task's directory later anyway.
        }
    }
}
