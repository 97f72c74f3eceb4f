using System.Diagnostics.Metrics;

namespace Skiff.Server.Telemetry;

/// <summary>The one Meter named "Skiff" and its instruments; exported at /metrics.</summary>
internal sealed class SkiffMetrics : IDisposable
{
    public const string MeterName = "Skiff";

    private readonly Meter _meter = new(MeterName);

    public SkiffMetrics()
    {
        Submitted = _meter.CreateCounter<long>("skiff.tasks.submitted", "{task}", "Tasks accepted, by queue.");
        Completed = _meter.CreateCounter<long>("skiff.tasks.completed", "{task}", "Tasks that reached a terminal status, by status.");
        Attempts = _meter.CreateCounter<long>("skiff.task.attempts", "{attempt}", "Attempts ended, by outcome.");
        LeaseLatency = _meter.CreateHistogram<double>("skiff.task.lease_latency", "ms", "From the task becoming ready to a worker leasing it.");
        StartLatency = _meter.CreateHistogram<double>("skiff.task.start_latency", "ms", "From the task becoming ready to its process starting.");
        Duration = _meter.CreateHistogram<double>("skiff.task.duration", "ms", "Wall time of an attempt.");
    }

    public Counter<long> Submitted { get; }

    public Counter<long> Completed { get; }

    public Counter<long> Attempts { get; }

    public Histogram<double> LeaseLatency { get; }

    public Histogram<double> StartLatency { get; }

    public Histogram<double> Duration { get; }

    public void ObserveGauge<T>(string name, string unit, string description, Func<IEnumerable<Measurement<T>>> observe)
        where T : struct =>
        _meter.CreateObservableGauge(name, observe, unit, description);

    public void Dispose() => _meter.Dispose();
}
