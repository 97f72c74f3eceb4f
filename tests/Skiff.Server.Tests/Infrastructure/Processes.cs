using System.Globalization;
using System.Text.RegularExpressions;

namespace Skiff.Server.Tests.Infrastructure;

/// <summary>Looks at the host processes a task started (the process executor runs them as our children).</summary>
public static partial class Processes
{
    /// <summary>The pid a task printed as "pid=N" (its shell's $$, which then execs the real command).</summary>
    public static int PidIn(string log) => int.Parse(PidLine().Match(log).Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>Whether <paramref name="pid"/> is still a live (not zombie) sleep process.</summary>
    /// <summary>
    /// Waits until <paramref name="pid"/> runs sleep: the shell prints its pid before its <c>exec sleep</c>, and
    /// on a loaded machine the log line can arrive before the exec has happened.
    /// </summary>
    public static async Task<bool> BecomesSleepingAsync(int pid, TimeSpan? deadline = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!IsSleeping(pid))
        {
            if (clock.Elapsed > (deadline ?? TimeSpan.FromSeconds(10)))
            {
                return false;
            }
            await Task.Delay(10);
        }
        return true;
    }

    public static bool IsSleeping(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return stat.Contains("(sleep)", StringComparison.Ordinal) && state != "Z";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"pid=(\d+)")]
    private static partial Regex PidLine();
}
