using System.Globalization;
using Skiff.Cli.Client;
using Spectre.Console;

namespace Skiff.Cli.Commands;

/// <summary>How tasks, results and lists look in a terminal. Machine-readable output is <c>--json</c>.</summary>
internal static class TaskOutput
{
    /// <summary>How many lines of a task's output tail the summary shows.</summary>
    private const int TailLines = 20;

    /// <summary>The result block printed by <c>submit --wait</c> and <c>demo</c>.</summary>
    public static void WriteSummary(TextWriter output, TaskDocument task, TaskResultDocument? result)
    {
        var exitCode = result?.ExitCode ?? task.ExitCode;
        output.WriteLine($"task {task.TaskId} {task.Status}" + (task.DeadLettered ? " (dead-lettered)" : ""));
        output.WriteLine($"  what:      {Describe(task)}");
        output.WriteLine($"  exit code: {(exitCode?.ToString(CultureInfo.InvariantCulture) ?? "-")}");
        output.WriteLine($"  duration:  {Duration(TaskDurationMs(task))}");
        output.WriteLine($"  attempts:  {Attempts(task)}");
        if (result?.Usage is { } usage)
        {
            output.WriteLine($"  usage:     wall {Duration(usage.WallMs)}, cpu {Duration(usage.CpuMs)}, peak memory {Bytes(usage.PeakMemoryBytes)}");
        }
        if (!string.IsNullOrEmpty(task.Error))
        {
            output.WriteLine($"  error:     {task.Error}");
        }

        WriteTail(output, "stdout", result?.StdoutTail);
        if (task.Status != "succeeded")
        {
            WriteTail(output, "stderr", result?.StderrTail);
        }

        if (result?.Artifacts is { Count: > 0 } artifacts)
        {
            output.WriteLine("  artifacts:");
            foreach (var artifact in artifacts)
            {
                output.WriteLine($"    {artifact.Path} ({Bytes(artifact.Size)})");
            }
        }
    }

    /// <summary>Everything about one task, for <c>skiff status</c>.</summary>
    public static void WriteDetails(TextWriter output, TaskDocument task)
    {
        void Row(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                output.WriteLine($"{name + ":",-15}{value}");
            }
        }

        Row("id", task.TaskId);
        Row("status", task.Status + (task.DeadLettered ? " (dead-lettered)" : ""));
        Row(task.Type is null ? "command" : "type", Describe(task));
        Row("image", task.Image);
        Row("queue", task.Queue is null ? null : $"{task.Queue} (priority {task.Priority?.ToString(CultureInfo.InvariantCulture) ?? "-"})");
        Row("user", task.UserId);
        Row("resources", Resources(task));
        Row("attempts", Attempts(task));
        Row("created", Timestamp(task.CreatedAt));
        Row("started", Timestamp(task.StartedAt));
        Row("completed", Timestamp(task.CompletedAt));
        Row("duration", task.StartedAt is null ? null : Duration(TaskDurationMs(task)));
        Row("exit code", task.ExitCode?.ToString(CultureInfo.InvariantCulture));
        Row("error", task.Error);
        if (task.Metadata is { Count: > 0 } metadata)
        {
            Row("metadata", string.Join(", ", metadata.Select(m => $"{m.Key}={m.Value}")));
        }

        if (task.Events is { Count: > 0 } events)
        {
            output.WriteLine("events:");
            foreach (var e in events)
            {
                var reason = string.IsNullOrEmpty(e.Reason) ? "" : "  " + e.Reason;
                output.WriteLine($"  {Timestamp(e.At)}  {e.Status,-10} attempt {e.Attempt}{reason}");
            }
        }
    }

    /// <summary>
    /// The table of <c>skiff list</c> and <c>skiff dlq list</c>: a Spectre table in a terminal, plain aligned
    /// columns without borders or trailing blanks otherwise, so grep, awk and cut work on it.
    /// </summary>
    public static void WriteTable(CliEnvironment environment, IReadOnlyList<TaskDocument> tasks, bool showError)
    {
        List<string> headers = ["ID", "STATUS", "QUEUE", "PRIORITY", "ATTEMPTS", "CREATED", "DURATION"];
        if (showError)
        {
            headers.Add("ERROR");
        }

        var rows = tasks.Select(task =>
        {
            var cells = new List<string>
            {
                task.TaskId,
                task.Status + (task.DeadLettered && !showError ? " (dlq)" : ""),
                task.Queue ?? "-",
                task.Priority?.ToString(CultureInfo.InvariantCulture) ?? "-",
                Attempts(task),
                ShortTimestamp(task.CreatedAt),
                task.StartedAt is null ? "-" : Duration(TaskDurationMs(task)),
            };
            if (showError)
            {
                cells.Add(task.Error ?? "");
            }
            return cells;
        }).ToList();

        // Plain aligned columns (as docker ps and kubectl get print them): they never wrap inside a cell, and
        // grep, awk and cut work on them. A terminal only adds colour to the status.
        var widths = headers.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToList();
        string Line(IReadOnlyList<string> cells, Func<int, string, string> decorate) =>
            string.Join("  ", cells.Select((c, i) => decorate(i, i == cells.Count - 1 ? c : c.PadRight(widths[i])))).TrimEnd();

        if (!environment.IsOutputTerminal)
        {
            environment.Out.WriteLine(Line(headers, (_, c) => c));
            rows.ForEach(r => environment.Out.WriteLine(Line(r, (_, c) => c)));
            return;
        }

        var console = environment.CreateOutConsole();
        console.MarkupLine(Line(headers, (_, c) => $"[bold]{Markup.Escape(c)}[/]"));
        foreach (var (cells, task) in rows.Zip(tasks))
        {
            console.MarkupLine(Line(cells, (i, c) => i == 1 && StatusColor(task.Status) is { } color ? $"[{color}]{Markup.Escape(c)}[/]" : Markup.Escape(c)));
        }
    }

    /// <summary>Today's times without the date, older ones without the year: lists stay narrow.</summary>
    private static string ShortTimestamp(DateTimeOffset? at)
    {
        if (at is not { } value)
        {
            return "-";
        }

        var local = value.ToLocalTime();
        var format = local.Date == DateTimeOffset.Now.Date ? "HH:mm:ss" : local.Year == DateTimeOffset.Now.Year ? "MM-dd HH:mm" : "yyyy-MM-dd";
        return local.ToString(format, CultureInfo.InvariantCulture);
    }

    private static string? StatusColor(string status) => status switch
    {
        "succeeded" => "green",
        "failed" or "timed_out" => "red",
        "cancelled" => "yellow",
        "running" => "blue",
        _ => null,
    };

    /// <summary>What the task runs: its built-in type with parameters, or its command line.</summary>
    public static string Describe(TaskDocument task)
    {
        if (task.Type is not null)
        {
            var parameters = task.Parameters is { Count: > 0 } p ? " " + string.Join(' ', p.Select(kv => $"{kv.Key}={kv.Value}")) : "";
            return task.Type + parameters;
        }
        return task.Command is { Count: > 0 } command ? string.Join(' ', command.Select(QuoteIfNeeded)) : "-";
    }

    public static string Attempts(TaskDocument task) =>
        task.MaxAttempts is { } max ? $"{task.Attempts}/{max}" : task.Attempts.ToString(CultureInfo.InvariantCulture);

    /// <summary>The server's duration, or one computed from the timestamps (a running task has none yet).</summary>
    public static long? TaskDurationMs(TaskDocument task) =>
        task.DurationMs ?? (task.StartedAt is { } started && task.CompletedAt is { } completed
            ? (long)(completed - started).TotalMilliseconds
            : null);

    public static string Duration(long? milliseconds)
    {
        if (milliseconds is not { } ms)
        {
            return "-";
        }

        var span = TimeSpan.FromMilliseconds(ms);
        return ms switch
        {
            < 1_000 => $"{ms} ms",
            < 60_000 => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.00} s"),
            < 3_600_000 => string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m {span.Seconds:00}s"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h {span.Minutes:00}m"),
        };
    }

    public static string Bytes(long? bytes)
    {
        if (bytes is not { } b)
        {
            return "-";
        }

        string[] units = ["B", "KB", "MB", "GB", "TB"];
        double value = b;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{b} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }

    public static string Timestamp(DateTimeOffset? at) =>
        at is { } value ? value.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-";

    private static string? Resources(TaskDocument task)
    {
        var parts = new List<string>();
        if (task.Cpu is { } cpu)
        {
            parts.Add($"cpu {cpu}");
        }
        if (task.MemoryMb is { } memory)
        {
            parts.Add($"memory {memory} MB");
        }
        if (task.TimeoutSeconds is { } timeout)
        {
            parts.Add($"timeout {timeout} s");
        }
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    private static void WriteTail(TextWriter output, string name, string? tail)
    {
        if (string.IsNullOrEmpty(tail))
        {
            return;
        }

        var lines = tail.TrimEnd('\n', '\r').Split('\n');
        var shown = lines.Length > TailLines ? lines[^TailLines..] : lines;
        output.WriteLine($"  {name} (last {shown.Length} line{(shown.Length == 1 ? "" : "s")}):");
        foreach (var line in shown)
        {
            output.WriteLine("    " + line.TrimEnd('\r'));
        }
    }

    private static string QuoteIfNeeded(string argument) =>
        argument.Length > 0 && !argument.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or '$' or '`')
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
