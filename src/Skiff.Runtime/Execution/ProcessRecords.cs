using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Skiff.Runtime.Execution;

/// <summary>
/// One file per running attempt, <c>TASK-ATTEMPT.pid</c> holding "PID STARTTIME" of its process group, so that the
/// next server process can kill what a crashed one left running.
/// </summary>
/// <remarks>
/// When an attempt ends its record is renamed to a spare name and reused, rather than deleted and created anew:
/// renames allocate and free no inodes, and on ext4 without a journal each freed inode slows every inode
/// allocation of the next minutes (bench/README.md). The content is written under the spare name first and the
/// rename is atomic, so a <c>*.pid</c> file is always a whole record, and a spare is never mistaken for one.
/// </remarks>
internal sealed class ProcessRecords
{
    private const string SparePattern = "*.spare";

    private readonly ConcurrentBag<string> _spares = [];
    // Unique per instance: two executors on one directory (a test standing for a restarted server) never share a spare.
    private readonly string _sparePrefix = Guid.NewGuid().ToString("N")[..8] + "-";
    private long _next;

    public ProcessRecords(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    /// <summary>Records a running attempt's process group; returns the record's path for <see cref="Remove"/>.</summary>
    public string Add(string name, int pid, ulong startTime)
    {
        var path = Path.Combine(Directory, name + ".pid");
        var content = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{pid} {startTime}"));
        if (_spares.TryTake(out var spare))
        {
            try
            {
                Write(spare, content);
                File.Move(spare, path, overwrite: true);
                return path;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The directory was removed meanwhile: a new file below.
            }
        }
        System.IO.Directory.CreateDirectory(Directory);
        Write(path, content);
        return path;
    }

    /// <summary>Removes a record (its attempt has ended) and keeps the file for the next one.</summary>
    public void Remove(string path)
    {
        var spare = Path.Combine(Directory, _sparePrefix + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture) + ".spare");
        try
        {
            File.Move(path, spare);
            _spares.Add(spare);
        }
        catch (FileNotFoundException)
        {
            // A new server process killed the attempt and removed its record (KillLeftovers).
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Kills the process groups recorded by a previous server process that are still running and removes every
    /// record and spare. Returns how many were killed.
    /// </summary>
    public int KillLeftovers()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return 0;
        }
        var killed = 0;
        foreach (var record in System.IO.Directory.EnumerateFiles(Directory, "*.pid"))
        {
            var parts = File.ReadAllText(record).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // The start time guards against killing an unrelated process that reused the pid.
            if (parts.Length == 2 && int.TryParse(parts[0], out var pid) && ulong.TryParse(parts[1], out var startTime)
                && ProcessTree.TryReadStat(pid, out var stat) && stat.StartTime == startTime && stat.State != 'Z')
            {
                ProcessTree.KillGroup(pid);
                killed++;
            }
            File.Delete(record);
        }
        foreach (var spare in System.IO.Directory.EnumerateFiles(Directory, SparePattern))
        {
            File.Delete(spare);
        }
        return killed;
    }

    private static void Write(string path, byte[] content)
    {
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.Write(handle, content, 0);
    }
}
