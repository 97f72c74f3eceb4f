using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Skiff.Server.Telemetry;

/// <summary>
/// Listens to the named meters and renders what they measured in the Prometheus text exposition format 0.0.4,
/// for the <c>/metrics</c> endpoint. Measurements are aggregated as they happen; observable instruments are
/// read when a scrape asks. Rendering is serialised, recording never waits for it.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    /// <summary>The Content-Type of <see cref="Collect"/>'s output.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Series per instrument before further tag sets fold into one <c>otel_metric_overflow="true"</c> series.</summary>
    public const int DefaultMaxSeriesPerInstrument = 2000;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly HashSet<string> _meterNames;
    private readonly int _maxSeriesPerInstrument;
    private readonly Action<Exception>? _observeFailed;
    private readonly ConcurrentDictionary<Instrument, MetricAggregator> _aggregators = new();
    private readonly Lock _collectLock = new();
    private readonly MeterListener _listener;
    private long _published;
    private bool _disposed;

    /// <param name="meterNames">Exact names of the meters to export, e.g. <c>Skiff</c>, <c>Microsoft.AspNetCore.Hosting</c>.</param>
    /// <param name="maxSeriesPerInstrument">Bound on distinct tag sets kept per instrument.</param>
    /// <param name="observeFailed">
    /// Told when an observable instrument's callback throws during a scrape; the other instruments are still
    /// exported. Meant for a log line.
    /// </param>
    public PrometheusExporter(
        IEnumerable<string> meterNames,
        int maxSeriesPerInstrument = DefaultMaxSeriesPerInstrument,
        Action<Exception>? observeFailed = null)
    {
        ArgumentNullException.ThrowIfNull(meterNames);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeriesPerInstrument, 1);
        _meterNames = new HashSet<string>(meterNames, StringComparer.Ordinal);
        if (_meterNames.Count == 0)
        {
            throw new ArgumentException("At least one meter name is required.", nameof(meterNames));
        }

        _maxSeriesPerInstrument = maxSeriesPerInstrument;
        _observeFailed = observeFailed;

        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            // The meter was disposed (or this listener was): its series go with it.
            MeasurementsCompleted = (instrument, _) => Forget(instrument),
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((MetricAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((MetricAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((MetricAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((MetricAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((MetricAggregator)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Reads the observable instruments and renders every metric, sorted by name and then by labels.</summary>
    /// <exception cref="ObjectDisposedException">The exporter was disposed.</exception>
    public string Collect()
    {
        lock (_collectLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            var aggregators = _aggregators.Values.OrderBy(static a => a.Order).ToList();
            Observe(aggregators);

            var families = new SortedDictionary<string, PrometheusMetricFamily>(StringComparer.Ordinal);
            foreach (var aggregator in aggregators)
            {
                var type = PrometheusMetricFamily.TypeOf(aggregator.Kind);
                if (!families.TryGetValue(aggregator.Name, out var family))
                {
                    family = new PrometheusMetricFamily(aggregator.Name, type, aggregator.Kind);
                    families.Add(aggregator.Name, family);
                }
                else if (family.Type != type)
                {
                    // One name cannot carry two types; the instrument published first keeps it.
                    continue;
                }

                family.AddHelp(aggregator.Instrument.Description);
                aggregator.CollectInto(family);
            }

            var builder = new StringBuilder();
            foreach (var family in families.Values)
            {
                family.WriteTo(builder);
            }

            return builder.ToString();
        }
    }

    /// <summary>Writes <see cref="Collect"/>'s output to <paramref name="stream"/> as UTF-8.</summary>
    public async Task WriteAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = Utf8.GetBytes(Collect());
        await stream.WriteAsync(bytes, cancellationToken);
    }

    /// <summary>Stops listening; instruments of the meters stop being recorded here.</summary>
    public void Dispose()
    {
        lock (_collectLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        // Outside the lock: disposing the listener takes the runtime's global instrument lock.
        _listener.Dispose();
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_meterNames.Contains(instrument.Meter.Name))
        {
            return;
        }

        var aggregator = MetricAggregator.TryCreate(instrument, Interlocked.Increment(ref _published), _maxSeriesPerInstrument);
        if (aggregator is null)
        {
            return;
        }

        _aggregators[instrument] = aggregator;
        listener.EnableMeasurementEvents(instrument, aggregator);
    }

    private void Forget(Instrument instrument) => _aggregators.TryRemove(instrument, out _);

    private void Observe(List<MetricAggregator> aggregators)
    {
        foreach (var aggregator in aggregators)
        {
            if (aggregator.IsObservable)
            {
                aggregator.Reset();
            }
        }

        try
        {
            // Runs every observable callback on this thread; only this listener's aggregators receive the values.
            _listener.RecordObservableInstruments();
        }
        catch (Exception exception)
        {
            // The runtime still ran the other callbacks before throwing their collected exceptions.
            _observeFailed?.Invoke(exception);
        }
    }
}
