using System.Globalization;
using System.Text;

namespace Skiff.Server.Telemetry;

/// <summary>
/// All series of one Prometheus metric name, gathered during one collection. Several instruments can map to the
/// same name (one meter name used by two hosts in a process, or <c>a.b</c> next to <c>a_b</c>); their series are
/// merged here, because a scrape with a repeated TYPE line or a repeated series is rejected as a whole.
/// </summary>
internal sealed class PrometheusMetricFamily(string name, string type, MetricKind kind)
{
    private readonly Dictionary<string, Point> _points = new(StringComparer.Ordinal);
    private string? _help;

    public string Name => name;

    /// <summary><c>counter</c>, <c>gauge</c> or <c>histogram</c>.</summary>
    public string Type => type;

    public static string TypeOf(MetricKind kind) => kind switch
    {
        MetricKind.Counter or MetricKind.ObservableCounter => "counter",
        MetricKind.Histogram => "histogram",
        _ => "gauge",
    };

    public void AddHelp(string? description)
    {
        if (_help is null && !string.IsNullOrEmpty(description))
        {
            _help = description;
        }
    }

    public void AddValue(MetricTagSet tags, double value)
    {
        var labels = tags.Labels;
        if (!_points.TryGetValue(labels, out var point))
        {
            _points.Add(labels, new Point(value, null, null, 0));
        }
        else if (IsAdditive)
        {
            _points[labels] = point with { Value = point.Value + value };
        }

        // Two gauges with one name and the same labels: the first published instrument wins.
    }

    public void AddHistogram(MetricTagSet tags, double[] bounds, long[] counts, double sum)
    {
        var labels = tags.Labels;
        if (!_points.TryGetValue(labels, out var point))
        {
            _points.Add(labels, new Point(0, bounds, counts, sum));
        }
        else if (point.Bounds is { } existing && existing.AsSpan().SequenceEqual(bounds))
        {
            for (var i = 0; i < counts.Length; i++)
            {
                point.Counts![i] += counts[i];
            }

            _points[labels] = point with { Sum = point.Sum + sum };
        }

        // Different buckets cannot be added up; the first published instrument wins.
    }

    public void WriteTo(StringBuilder builder)
    {
        if (_points.Count == 0)
        {
            return;
        }

        builder.Append("# HELP ").Append(name);
        if (_help is not null)
        {
            builder.Append(' ');
            PrometheusText.AppendEscaped(builder, _help, escapeQuote: false);
        }

        builder.Append('\n');
        builder.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

        var labelSets = _points.Keys.ToArray();
        Array.Sort(labelSets, StringComparer.Ordinal);
        foreach (var labels in labelSets)
        {
            var point = _points[labels];
            if (point.Counts is null)
            {
                AppendSample(builder, name, labels, null, PrometheusText.FormatNumber(point.Value));
            }
            else
            {
                AppendHistogram(builder, labels, point);
            }
        }
    }

    private bool IsAdditive => kind is not (MetricKind.Gauge or MetricKind.ObservableGauge);

    private void AppendHistogram(StringBuilder builder, string labels, Point point)
    {
        var bucket = name + "_bucket";
        var cumulative = 0L;
        for (var i = 0; i < point.Bounds!.Length; i++)
        {
            cumulative += point.Counts![i];
            AppendSample(builder, bucket, labels, PrometheusText.FormatNumber(point.Bounds[i]), cumulative.ToString(CultureInfo.InvariantCulture));
        }

        // Taking the total from the buckets keeps +Inf and _count equal even while values are being recorded.
        cumulative += point.Counts![^1];
        var total = cumulative.ToString(CultureInfo.InvariantCulture);
        AppendSample(builder, bucket, labels, "+Inf", total);
        AppendSample(builder, name + "_sum", labels, null, PrometheusText.FormatNumber(point.Sum));
        AppendSample(builder, name + "_count", labels, null, total);
    }

    private static void AppendSample(StringBuilder builder, string sampleName, string labels, string? le, string value)
    {
        builder.Append(sampleName);
        if (labels.Length > 0 || le is not null)
        {
            builder.Append('{').Append(labels);
            if (le is not null)
            {
                builder.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
            }

            builder.Append('}');
        }

        builder.Append(' ').Append(value).Append('\n');
    }

    private readonly record struct Point(double Value, double[]? Bounds, long[]? Counts, double Sum);
}
