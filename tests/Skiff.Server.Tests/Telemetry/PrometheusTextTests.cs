using Skiff.Server.Telemetry;
using Xunit;

namespace Skiff.Server.Tests.Telemetry;

public sealed class PrometheusTextTests
{
    [Theory]
    [InlineData("skiff.tasks.completed", "{task}", nameof(MetricKind.Counter), "skiff_tasks_completed_total")]
    [InlineData("http.server.request.duration", "s", nameof(MetricKind.Histogram), "http_server_request_duration_seconds")]
    [InlineData("skiff.task.duration", "ms", nameof(MetricKind.Histogram), "skiff_task_duration_milliseconds")]
    [InlineData("process.memory.usage", "By", nameof(MetricKind.ObservableGauge), "process_memory_usage_bytes")]
    [InlineData("process.cpu.time", "s", nameof(MetricKind.ObservableCounter), "process_cpu_time_seconds_total")]
    [InlineData("kestrel.active-connections", "{connection}", nameof(MetricKind.UpDownCounter), "kestrel_active_connections")]
    [InlineData("io.read_bytes", "By", nameof(MetricKind.Counter), "io_read_bytes_total")]
    [InlineData("requests_total", null, nameof(MetricKind.Counter), "requests_total")]
    [InlineData("9lives", null, nameof(MetricKind.Gauge), "_9lives")]
    [InlineData("caf\u00e9:rate", "1", nameof(MetricKind.Gauge), "caf__rate")]
    public void MetricName_InstrumentNameAndUnit_PrometheusName(string instrument, string? unit, string kind, string expected)
    {
        Assert.Equal(expected, PrometheusText.MetricName(instrument, unit, Enum.Parse<MetricKind>(kind)));
    }

    [Fact]
    public void FormatLabels_NamesCollideAfterSanitizing_KeepsOneSortedDeterministically()
    {
        KeyValuePair<string, object?>[] tags = [new("b", 1), new("a.b", "dot"), new("a_b", "underscore"), new("A", true)];

        Assert.Equal("A=\"true\",a_b=\"dot\",b=\"1\"", PrometheusText.FormatLabels(tags));
    }

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(1e21, "1E+21")]
    [InlineData(-0.0, "-0")]
    [InlineData(123456789.0, "123456789")]
    public void FormatNumber_Finite_ShortestRoundTrip(double value, string expected)
    {
        Assert.Equal(expected, PrometheusText.FormatNumber(value));
    }
}
