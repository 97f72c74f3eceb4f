using System.Globalization;
using System.Text.RegularExpressions;

namespace Skiff.Server.Tests.Infrastructure;

/// <summary>Looks at the host processes a task started (the process executor runs them as our children).</summary>
public static partial class Processes
{
    /// <summary>The pid a task printed as "pid=N" (its shell's $$, which then execs the real command).</summary>
    public static int PidIn(string log) => int.Parse(PidLine().Match(log).Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>Whether <paramref name="pid"/> is still a live (not zombie) sleep process.</summary>
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
