using System.Globalization;
using System.Text;

namespace Skiff.Server.Telemetry;

/// <summary>Names, escaping and number formatting of the Prometheus text exposition format 0.0.4.</summary>
internal static class PrometheusText
{
    /// <summary>
    /// <c>skiff.task.duration</c> with unit <c>ms</c> becomes <c>skiff_task_duration_milliseconds</c>; counters end
    /// in <c>_total</c>. The unit suffix applies to every kind of instrument, the way OpenTelemetry's Prometheus
    /// exporter does it, so a metric's name always tells its unit.
    /// </summary>
    public static string MetricName(string instrumentName, string? unit, MetricKind kind)
    {
        var name = SanitizeName(instrumentName);
        var unitSuffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => null,
        };
        if (unitSuffix is not null && !name.EndsWith(unitSuffix, StringComparison.Ordinal))
        {
            name += unitSuffix;
        }

        if (kind is MetricKind.Counter or MetricKind.ObservableCounter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        return name;
    }

    /// <summary>Maps any name onto <c>[a-zA-Z_][a-zA-Z0-9_]*</c>: metric and label names alike.</summary>
    public static string SanitizeName(string name)
    {
        if (name.Length == 0)
        {
            return "_";
        }

        var builder = new StringBuilder(name.Length + 1);
        if (char.IsAsciiDigit(name[0]))
        {
            builder.Append('_');
        }

        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }

        return builder.ToString();
    }

    /// <summary>
    /// Renders tags as <c>a="1",b="2"</c>, sorted by label name. Tags with a null or empty value are left out
    /// (Prometheus treats an empty label as absent); names that collide after sanitizing keep the first.
    /// </summary>
    public static string FormatLabels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = new List<(string Name, string Original, string Value)>(tags.Length);
        foreach (var tag in tags)
        {
            var value = FormatTagValue(tag.Value);
            if (!string.IsNullOrEmpty(value))
            {
                labels.Add((SanitizeName(tag.Key), tag.Key, value));
            }
        }

        labels.Sort(static (x, y) =>
        {
            var byName = string.CompareOrdinal(x.Name, y.Name);
            return byName != 0 ? byName : string.CompareOrdinal(x.Original, y.Original);
        });

        var builder = new StringBuilder();
        string? previous = null;
        foreach (var (name, _, value) in labels)
        {
            if (name == previous)
            {
                continue;
            }

            if (previous is not null)
            {
                builder.Append(',');
            }

            builder.Append(name).Append("=\"");
            AppendEscaped(builder, value, escapeQuote: true);
            builder.Append('"');
            previous = name;
        }

        return builder.ToString();
    }

    public static string? FormatTagValue(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        double d => FormatNumber(d),
        float f => FormatNumber(f),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>Shortest round-trip form in the invariant culture; NaN and infinities as Prometheus spells them.</summary>
    public static string FormatNumber(double value) =>
        double.IsNaN(value) ? "NaN"
        : double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Escapes backslash and newline (HELP text), and the double quote too inside a label value.</summary>
    public static void AppendEscaped(StringBuilder builder, string text, bool escapeQuote)
    {
        foreach (var c in text)
        {
            _ = c switch
            {
                '\\' => builder.Append(@"\\"),
                '\n' => builder.Append(@"\n"),
                '"' when escapeQuote => builder.Append("\\\""),
                _ => builder.Append(c),
            };
        }
    }
}
