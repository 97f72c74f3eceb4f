using System.Diagnostics;
using System.Globalization;

namespace Skiff.Bench;

internal sealed record Figure(string Name, double Value, string Unit, string Target);

internal sealed record BenchOptions(int Tasks, int Seconds, int Connections, int Large, string? Data, string? Urls, int MaxWorkers, string Executor = "auto")
{
    public static BenchOptions Parse(string[] args)
    {
        string? Get(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int GetInt(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new BenchOptions(GetInt("--tasks", 100_000), GetInt("--seconds", 10), GetInt("--connections", 32), GetInt("--large", 1_000_000),
            Get("--data"), Get("--urls"), GetInt("--max-workers", 0), Get("--executor") ?? "auto");
    }
}

internal static class Report
{
    public static async Task<int> Run(Task<IReadOnlyList<Figure>> run)
    {
        var figures = await run;
        Console.WriteLine();
        Console.WriteLine("| figure | measured | target |");
        Console.WriteLine("|---|---|---|");
        foreach (var f in figures)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {f.Name} | {f.Value:0.###} {f.Unit} | {f.Target} |"));
        }
        return 0;
    }
}

internal static class Stats
{
    public static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        values.Sort();
        var index = (int)Math.Ceiling(p / 100 * values.Count) - 1;
        return values[Math.Clamp(index, 0, values.Count - 1)];
    }

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

internal sealed class TempDir : IDisposable
{
    public TempDir(string? path = null)
    {
        Path = path ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "skiff-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
