using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Numerics;

namespace Skiff.Server.Telemetry;

internal enum MetricKind
{
    Counter,
    UpDownCounter,
    Histogram,
    Gauge,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
}

/// <summary>
/// Aggregates the measurements of one instrument, one series per distinct tag set. Recording runs on the
/// instrumented code's thread (every HTTP request), so it is lock-free and allocates only for a new tag set.
/// </summary>
internal abstract class MetricAggregator
{
    private static readonly double[] DefaultMillisecondBounds =
        [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

    private static readonly double[] DefaultSecondBounds =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    protected MetricAggregator(Instrument instrument, MetricKind kind, long order)
    {
        Instrument = instrument;
        Kind = kind;
        Order = order;
        Name = PrometheusText.MetricName(instrument.Name, instrument.Unit, kind);
    }

    public Instrument Instrument { get; }

    public MetricKind Kind { get; }

    /// <summary>Publication order; decides, deterministically, which instrument wins a name clash.</summary>
    public long Order { get; }

    /// <summary>The Prometheus metric family name, e.g. <c>http_server_request_duration_seconds</c>.</summary>
    public string Name { get; }

    public bool IsObservable => Kind is MetricKind.ObservableCounter or MetricKind.ObservableUpDownCounter or MetricKind.ObservableGauge;

    /// <summary>Null for instrument types this exporter does not know (custom subclasses of Instrument).</summary>
    public static MetricAggregator? TryCreate(Instrument instrument, long order, int maxSeries)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(Counter<>) ? new SumAggregator(instrument, MetricKind.Counter, order, maxSeries)
            : definition == typeof(UpDownCounter<>) ? new SumAggregator(instrument, MetricKind.UpDownCounter, order, maxSeries)
            : definition == typeof(Histogram<>) ? new HistogramAggregator(instrument, BucketBounds(instrument), order, maxSeries)
            : definition == typeof(Gauge<>) ? new LastValueAggregator(instrument, MetricKind.Gauge, order, maxSeries)
            : definition == typeof(ObservableCounter<>) ? new LastValueAggregator(instrument, MetricKind.ObservableCounter, order, maxSeries)
            : definition == typeof(ObservableUpDownCounter<>) ? new LastValueAggregator(instrument, MetricKind.ObservableUpDownCounter, order, maxSeries)
            : definition == typeof(ObservableGauge<>) ? new LastValueAggregator(instrument, MetricKind.ObservableGauge, order, maxSeries)
            : null;
    }

    public abstract void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    public abstract void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    /// <summary>Forgets every series; observable instruments start each collection afresh so a vanished series is not repeated forever.</summary>
    public abstract void Reset();

    public abstract void CollectInto(PrometheusMetricFamily family);

    internal static double[] BucketBounds(Instrument instrument)
    {
        var advised = instrument switch
        {
            Instrument<double> i => AdvisedBounds(i),
            Instrument<float> i => AdvisedBounds(i),
            Instrument<long> i => AdvisedBounds(i),
            Instrument<int> i => AdvisedBounds(i),
            Instrument<short> i => AdvisedBounds(i),
            Instrument<byte> i => AdvisedBounds(i),
            Instrument<decimal> i => AdvisedBounds(i),
            _ => null,
        };
        return advised ?? (instrument.Unit == "s" ? DefaultSecondBounds : DefaultMillisecondBounds);
    }

    private static double[]? AdvisedBounds<T>(Instrument<T> instrument)
        where T : struct, INumberBase<T>
    {
        if (instrument.Advice?.HistogramBucketBoundaries is not { Count: > 0 } advised)
        {
            return null;
        }

        // InstrumentAdvice guarantees ascending bounds; +Inf is always written by the exporter itself.
        var bounds = advised.Select(double.CreateSaturating).Where(double.IsFinite).ToArray();
        return bounds.Length > 0 ? bounds : null;
    }

    /// <summary>Lock-free add for doubles (Interlocked has none); compares bits so a NaN sum cannot spin forever.</summary>
    protected static void AddDouble(ref double location, double value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current + value, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>Series bookkeeping shared by all aggregators: the tag set to cell map and its size limit.</summary>
internal abstract class MetricAggregator<TCell> : MetricAggregator
    where TCell : class
{
    private readonly ConcurrentDictionary<MetricTagSet, TCell> _series = new(MetricTagSetComparer.Instance);
    private readonly ConcurrentDictionary<MetricTagSet, TCell>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _lookup;
    private readonly int _maxSeries;
    private int _seriesCount;

    protected MetricAggregator(Instrument instrument, MetricKind kind, long order, int maxSeries)
        : base(instrument, kind, order)
    {
        _maxSeries = maxSeries;
        _lookup = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
    }

    public override void Reset()
    {
        _series.Clear();
        Volatile.Write(ref _seriesCount, 0);
    }

    protected ICollection<KeyValuePair<MetricTagSet, TCell>> Series => _series;

    protected abstract TCell CreateCell();

    protected TCell GetCell(ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _lookup.TryGetValue(tags, out var cell) ? cell : AddCell(tags);

    private TCell AddCell(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = MetricTagSet.Create(tags);
        if (_series.TryGetValue(key, out var cell))
        {
            return cell;
        }

        // A tag carrying an unbounded value (an id, a raw path) must not grow memory and the scrape without end.
        if (Volatile.Read(ref _seriesCount) >= _maxSeries)
        {
            return _series.GetOrAdd(MetricTagSet.Overflow, static (_, self) => self.CreateCell(), this);
        }

        var created = CreateCell();
        if (_series.TryAdd(key, created))
        {
            Interlocked.Increment(ref _seriesCount);
            return created;
        }

        return _series.GetOrAdd(key, created);
    }
}

/// <summary>Counter and UpDownCounter: a running sum per tag set.</summary>
internal sealed class SumAggregator(Instrument instrument, MetricKind kind, long order, int maxSeries)
    : MetricAggregator<SumAggregator.Cell>(instrument, kind, order, maxSeries)
{
    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // A Prometheus counter only goes up; a negative increment would read as a counter reset.
        if (value < 0 && Kind == MetricKind.Counter)
        {
            return;
        }

        Interlocked.Add(ref GetCell(tags).Integral, value);
    }

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value) || (value < 0 && Kind == MetricKind.Counter))
        {
            return;
        }

        AddDouble(ref GetCell(tags).Fractional, value);
    }

    public override void CollectInto(PrometheusMetricFamily family)
    {
        foreach (var (tags, cell) in Series)
        {
            family.AddValue(tags, Volatile.Read(ref cell.Integral) + Volatile.Read(ref cell.Fractional));
        }
    }

    protected override Cell CreateCell() => new();

    /// <summary>An instrument records one numeric type, so only one of the two fields is ever non-zero.</summary>
    internal sealed class Cell
    {
        public long Integral;
        public double Fractional;
    }
}

/// <summary>Gauge and every observable instrument: the last value per tag set.</summary>
internal sealed class LastValueAggregator(Instrument instrument, MetricKind kind, long order, int maxSeries)
    : MetricAggregator<LastValueAggregator.Cell>(instrument, kind, order, maxSeries)
{
    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        Volatile.Write(ref GetCell(tags).Value, value);

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        Volatile.Write(ref GetCell(tags).Value, value);

    public override void CollectInto(PrometheusMetricFamily family)
    {
        foreach (var (tags, cell) in Series)
        {
            family.AddValue(tags, Volatile.Read(ref cell.Value));
        }
    }

    protected override Cell CreateCell() => new();

    internal sealed class Cell
    {
        public double Value;
    }
}

/// <summary>Histogram: per tag set a count per bucket plus the sum.</summary>
internal sealed class HistogramAggregator(Instrument instrument, double[] bounds, long order, int maxSeries)
    : MetricAggregator<HistogramAggregator.Cell>(instrument, MetricKind.Histogram, order, maxSeries)
{
    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags) => Record((double)value, tags);

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        // Prometheus buckets are inclusive upper bounds: a value equal to a bound belongs to that bucket.
        var index = bounds.AsSpan().BinarySearch(value);
        if (index < 0)
        {
            index = ~index;
        }

        var cell = GetCell(tags);
        Interlocked.Increment(ref cell.Counts[index]);
        AddDouble(ref cell.Sum, value);
    }

    public override void CollectInto(PrometheusMetricFamily family)
    {
        foreach (var (tags, cell) in Series)
        {
            var counts = new long[cell.Counts.Length];
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] = Volatile.Read(ref cell.Counts[i]);
            }

            family.AddHistogram(tags, bounds, counts, Volatile.Read(ref cell.Sum));
        }
    }

    protected override Cell CreateCell() => new(bounds.Length + 1);

    internal sealed class Cell(int buckets)
    {
        /// <summary>Per bucket, not cumulative; the last one is the +Inf bucket.</summary>
        public readonly long[] Counts = new long[buckets];

        public double Sum;
    }
}
