using System.Diagnostics;
using System.Globalization;

namespace Skiff.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Finds the processes of tasks that a test's server ran. Each attempt runs in its own session with its working
/// directory under DATA/tasks, and after a kill -9 of the server those processes live on as orphans (nothing is
/// left to kill them), so they are recognised by their working directory, which lies in the test's own temp
/// directory: only processes this test caused to exist can match.
/// </summary>
internal static class TaskProcesses
{
    /// <summary>Live processes (zombies excluded) whose working directory is <paramref name="directory"/> or inside it.</summary>
    public static IReadOnlyList<int> Under(string directory)
    {
        var root = Path.GetFullPath(directory).TrimEnd('/');
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string? cwd;
            try
            {
                cwd = new DirectoryInfo(Path.Combine(entry, "cwd")).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (cwd is not null && (cwd == root || cwd.StartsWith(root + "/", StringComparison.Ordinal)) && IsAlive(pid))
            {
                found.Add(pid);
            }
        }
        return found;
    }

    /// <summary>SIGKILLs every process <see cref="Under"/> the directory; returns how many there were.</summary>
    public static int KillUnder(string directory)
    {
        var pids = Under(directory);
        foreach (var pid in pids)
        {
            Kill(pid);
        }
        return pids.Count;
    }

    /// <summary>SIGKILL to one process id, ignoring a process that is already gone.</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>Sends SIGTERM the way a service manager or a user's <c>kill PID</c> does.</summary>
    public static async Task TerminateAsync(int pid)
    {
        var run = await ProcessRun.RunAsync(
            SkiffProgram.StartInfo("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)], Path.GetTempPath()),
            TimeSpan.FromSeconds(10));
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {pid} failed: {run}");
        }
    }

    /// <summary>Whether the process exists and has not exited (a zombie waiting to be reaped has exited).</summary>
    public static bool IsAlive(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        var afterName = stat.LastIndexOf(')');
        return afterName < 0 || afterName + 2 >= stat.Length || stat[afterName + 2] is not ('Z' or 'X');
    }

    /// <summary>The command line of a live process, arguments separated by spaces; empty when it is gone.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
