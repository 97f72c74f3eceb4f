using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Skiff.Server.Telemetry;
using Xunit;

namespace Skiff.Server.Tests.Telemetry;

public sealed partial class PrometheusExporterTests
{
    private static readonly string[] MillisecondBounds =
        ["0.5", "1", "2.5", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000"];

    private static readonly string[] SecondBounds =
        ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"];

    [Fact]
    public void Collect_Counter_SumPerTagSetWithTotalSuffix()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var completed = meter.CreateCounter<long>("skiff.tasks.completed", "{task}", "Tasks that reached a terminal status.");

        completed.Add(2, Tag("status", "succeeded"));
        completed.Add(3, Tag("status", "succeeded"));
        completed.Add(1, Tag("status", "failed"));
        completed.Add(4);

        Assert.Equal(
            """
            # HELP skiff_tasks_completed_total Tasks that reached a terminal status.
            # TYPE skiff_tasks_completed_total counter
            skiff_tasks_completed_total 4
            skiff_tasks_completed_total{status="failed"} 1
            skiff_tasks_completed_total{status="succeeded"} 5

            """,
            CollectValid(exporter));
    }

    [Fact]
    public void Collect_CounterNegativeIncrement_Ignored()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var counter = meter.CreateCounter<double>("skiff.work");

        counter.Add(1.5);
        counter.Add(-1);
        counter.Add(double.NaN);

        Assert.Contains("skiff_work_total 1.5\n", CollectValid(exporter), StringComparison.Ordinal);
    }

    [Fact]
    public void Collect_UpDownCounter_RunningSumAsGauge()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var running = meter.CreateUpDownCounter<int>("skiff.tasks.running", "{task}", "Attempts running now.");

        running.Add(5, Tag("queue", "default"));
        running.Add(-2, Tag("queue", "default"));
        running.Add(-1, Tag("queue", "gpu"));

        Assert.Equal(
            """
            # HELP skiff_tasks_running Attempts running now.
            # TYPE skiff_tasks_running gauge
            skiff_tasks_running{queue="default"} 3
            skiff_tasks_running{queue="gpu"} -1

            """,
            CollectValid(exporter));
    }

    [Fact]
    public void Collect_Histogram_CumulativeBucketsInfEqualsCount()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var duration = meter.CreateHistogram<double>("skiff.task.duration", "ms", "Wall time of an attempt.");

        duration.Record(0.5, Tag("queue", "a")); // on a bound: that bucket (le is inclusive)
        duration.Record(3, Tag("queue", "a"));
        duration.Record(3, Tag("queue", "a"));
        duration.Record(70_000, Tag("queue", "a")); // above every bound: +Inf only

        var expected = new StringBuilder()
            .Append("# HELP skiff_task_duration_milliseconds Wall time of an attempt.\n")
            .Append("# TYPE skiff_task_duration_milliseconds histogram\n");
        long[] cumulative = [1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3];
        for (var i = 0; i < MillisecondBounds.Length; i++)
        {
            expected.Append(CultureInfo.InvariantCulture, $"skiff_task_duration_milliseconds_bucket{{queue=\"a\",le=\"{MillisecondBounds[i]}\"}} {cumulative[i]}\n");
        }

        expected
            .Append("skiff_task_duration_milliseconds_bucket{queue=\"a\",le=\"+Inf\"} 4\n")
            .Append("skiff_task_duration_milliseconds_sum{queue=\"a\"} 70006.5\n")
            .Append("skiff_task_duration_milliseconds_count{queue=\"a\"} 4\n");
        Assert.Equal(expected.ToString(), CollectValid(exporter));
    }

    [Fact]
    public void Collect_HistogramWithAdvice_UsesAdvisedBoundsAndSecondsSuffix()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var duration = meter.CreateHistogram(
            "http.server.request.duration",
            "s",
            "Duration of HTTP server requests.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 1] });
        var tags = new TagList { { "http.request.method", "GET" }, { "http.response.status_code", 200 } };

        duration.Record(0.0625, tags);
        duration.Record(2, tags);

        Assert.Equal(
            """
            # HELP http_server_request_duration_seconds Duration of HTTP server requests.
            # TYPE http_server_request_duration_seconds histogram
            http_server_request_duration_seconds_bucket{http_request_method="GET",http_response_status_code="200",le="0.01"} 0
            http_server_request_duration_seconds_bucket{http_request_method="GET",http_response_status_code="200",le="0.1"} 1
            http_server_request_duration_seconds_bucket{http_request_method="GET",http_response_status_code="200",le="1"} 1
            http_server_request_duration_seconds_bucket{http_request_method="GET",http_response_status_code="200",le="+Inf"} 2
            http_server_request_duration_seconds_sum{http_request_method="GET",http_response_status_code="200"} 2.0625
            http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200"} 2

            """,
            CollectValid(exporter));
    }

    [Fact]
    public void Collect_LongHistogramWithAdvice_UsesAdvisedBounds()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var size = meter.CreateHistogram(
            "skiff.payload.size", "By", null, tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [10, 100] });

        size.Record(10);
        size.Record(50);
        size.Record(5000);

        Assert.Equal(
            """
            # HELP skiff_payload_size_bytes
            # TYPE skiff_payload_size_bytes histogram
            skiff_payload_size_bytes_bucket{le="10"} 1
            skiff_payload_size_bytes_bucket{le="100"} 2
            skiff_payload_size_bytes_bucket{le="+Inf"} 3
            skiff_payload_size_bytes_sum 5060
            skiff_payload_size_bytes_count 3

            """,
            CollectValid(exporter));
    }

    [Theory]
    [InlineData("s", "seconds_bucket")]
    [InlineData("ms", "milliseconds_bucket")]
    [InlineData(null, "bucket")]
    public void Collect_HistogramWithoutAdvice_DefaultBoundsByUnit(string? unit, string bucketSuffix)
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        meter.CreateHistogram<double>("skiff.latency", unit).Record(0.003);

        var bounds = Regex.Matches(CollectValid(exporter), $"^skiff_latency_{bucketSuffix}{{le=\"([^\"]+)\"}} ", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value);

        string[] expected = [.. unit == "s" ? SecondBounds : MillisecondBounds, "+Inf"];
        Assert.Equal(expected, bounds);
    }

    [Fact]
    public void Collect_ObservableGauge_ReadsCallbackOnEveryScrape()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var depth = new Dictionary<string, int> { ["default"] = 3, ["gpu"] = 1 };
        var calls = 0;
        meter.CreateObservableGauge(
            "skiff.queue.depth",
            () =>
            {
                calls++;
                return depth.Select(d => new Measurement<int>(d.Value, Tag("queue", d.Key)));
            },
            "{task}",
            "Tasks waiting, by queue.");

        var first = CollectValid(exporter);
        depth["default"] = 7;
        depth.Remove("gpu");
        var second = CollectValid(exporter);

        Assert.Equal(
            """
            # HELP skiff_queue_depth Tasks waiting, by queue.
            # TYPE skiff_queue_depth gauge
            skiff_queue_depth{queue="default"} 3
            skiff_queue_depth{queue="gpu"} 1

            """,
            first);

        // A series the callback no longer reports is gone, not frozen at its last value.
        Assert.Equal(
            """
            # HELP skiff_queue_depth Tasks waiting, by queue.
            # TYPE skiff_queue_depth gauge
            skiff_queue_depth{queue="default"} 7

            """,
            second);
        Assert.Equal(2, calls);
    }

    [Fact]
    public void Collect_ObservableCounterAndUpDownCounter_ValueAsReported()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var cpu = 12.5;
        meter.CreateObservableCounter("process.cpu.time", () => cpu, "s", "CPU time used.");
        meter.CreateObservableUpDownCounter("skiff.workers.busy", () => 3L);

        CollectValid(exporter);
        cpu = 13.25;

        Assert.Equal(
            """
            # HELP process_cpu_time_seconds_total CPU time used.
            # TYPE process_cpu_time_seconds_total counter
            process_cpu_time_seconds_total 13.25
            # HELP skiff_workers_busy
            # TYPE skiff_workers_busy gauge
            skiff_workers_busy 3

            """,
            CollectValid(exporter));
    }

    [Fact]
    public void Collect_SynchronousGauge_LastValue()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var gauge = meter.CreateGauge<double>("skiff.store.size", "By", "Database file size.");

        gauge.Record(1.5);
        gauge.Record(-2.25);

        Assert.Equal(
            """
            # HELP skiff_store_size_bytes Database file size.
            # TYPE skiff_store_size_bytes gauge
            skiff_store_size_bytes -2.25

            """,
            CollectValid(exporter));
    }

    [Fact]
    public void Collect_LabelAndHelpText_Escaped()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var counter = meter.CreateCounter<long>("skiff.escapes", null, "Line one\nline \"two\" with \\ backslash");

        counter.Add(1, Tag("http.route", "say \"hi\"\\path\nnext"), Tag("1st-tag", "x"), Tag("empty", ""), Tag("none", null));

        Assert.Equal(
            """
            # HELP skiff_escapes_total Line one\nline "two" with \\ backslash
            # TYPE skiff_escapes_total counter
            skiff_escapes_total{_1st_tag="x",http_route="say \"hi\"\\path\nnext"} 1

            """,
            CollectValid(exporter));
    }

    [Fact]
    public void Collect_SameTagsInAnotherOrder_OneSeries()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var counter = meter.CreateCounter<long>("skiff.ordered");

        counter.Add(1, Tag("a", "1"), Tag("b", "2"));
        counter.Add(2, Tag("b", "2"), Tag("a", "1"));

        Assert.Equal(["skiff_ordered_total{a=\"1\",b=\"2\"} 3"], Samples(CollectValid(exporter)));
    }

    [Fact]
    public void Collect_TagValuesThatRenderAlike_MergedIntoOneSeries()
    {
        // Regression guard: int 200 and string "200" are different tag sets but the same Prometheus series,
        // and a scrape repeating a series is rejected as a whole.
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var counter = meter.CreateCounter<long>("skiff.responses");

        counter.Add(1, Tag("code", 200));
        counter.Add(2, Tag("code", "200"));

        Assert.Equal(["skiff_responses_total{code=\"200\"} 3"], Samples(CollectValid(exporter)));
    }

    [Fact]
    public void Collect_SpecialNumbers_PrometheusSpellingInvariantCulture()
    {
        var previous = CultureInfo.CurrentCulture;
        var commaCulture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        commaCulture.NumberFormat.NumberDecimalSeparator = ",";
        CultureInfo.CurrentCulture = commaCulture;
        try
        {
            using var meter = NewMeter();
            using var exporter = Listen(meter);
            var gauge = meter.CreateGauge<double>("skiff.value");

            gauge.Record(double.NaN, Tag("v", "nan"));
            gauge.Record(double.PositiveInfinity, Tag("v", "pinf"));
            gauge.Record(double.NegativeInfinity, Tag("v", "ninf"));
            gauge.Record(1.5, Tag("v", "half"));
            gauge.Record(1e-7, Tag("v", "tiny"));
            gauge.Record(2.5, Tag("v", 0.25));

            Assert.Equal(
                [
                    "skiff_value{v=\"0.25\"} 2.5",
                    "skiff_value{v=\"half\"} 1.5",
                    "skiff_value{v=\"nan\"} NaN",
                    "skiff_value{v=\"ninf\"} -Inf",
                    "skiff_value{v=\"pinf\"} +Inf",
                    "skiff_value{v=\"tiny\"} 1E-07",
                ],
                Samples(CollectValid(exporter)));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Collect_SeveralInstruments_SortedByNameHelpAndTypeOnce()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        meter.CreateCounter<long>("zeta").Add(1);
        meter.CreateHistogram<double>("alpha", "ms").Record(1);
        meter.CreateUpDownCounter<long>("mid").Add(1);
        meter.CreateCounter<long>("never.recorded");

        var text = CollectValid(exporter);

        Assert.Equal(
            ["# TYPE alpha_milliseconds histogram", "# TYPE mid gauge", "# TYPE zeta_total counter"],
            text.Split('\n').Where(l => l.StartsWith("# TYPE", StringComparison.Ordinal)));
        Assert.Equal(3, text.Split('\n').Count(l => l.StartsWith("# HELP", StringComparison.Ordinal)));
        Assert.DoesNotContain("never_recorded", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Collect_SameInstrumentNameInTwoMeters_OneFamilySummed()
    {
        // ASP.NET creates one "Microsoft.AspNetCore.Hosting" meter per host; two hosts in a process must not
        // produce a second TYPE line.
        using var first = NewMeter();
        using var second = new Meter(first.Name);
        using var exporter = Listen(first);
        first.CreateCounter<long>("http.requests", null, "Requests.").Add(2, Tag("code", 200));
        second.CreateCounter<long>("http.requests", null, "Requests.").Add(3, Tag("code", 200));
        second.CreateCounter<long>("http.requests", null, "Requests.").Add(1, Tag("code", 500));

        Assert.Equal(
            """
            # HELP http_requests_total Requests.
            # TYPE http_requests_total counter
            http_requests_total{code="200"} 5
            http_requests_total{code="500"} 1

            """,
            CollectValid(exporter));
    }

    [Fact]
    public void Collect_NameClashWithAnotherType_FirstPublishedWins()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        meter.CreateCounter<long>("jobs").Add(1);
        meter.CreateGauge<long>("jobs_total").Record(9);

        var text = CollectValid(exporter);

        Assert.Equal(["jobs_total 1"], Samples(text));
        Assert.Contains("# TYPE jobs_total counter\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Record_ConcurrentThreadsWhileScraping_SumsExactly()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var counter = meter.CreateCounter<long>("skiff.hits");
        var fractional = meter.CreateCounter<double>("skiff.load");
        var histogram = meter.CreateHistogram<double>("skiff.wait", "ms");
        const int Threads = 8;
        const int PerThread = 20_000;
        using var start = new Barrier(Threads + 1);

        var workers = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerThread; i++)
            {
                // Every thread creates the same four series at the same moment: exercises the add race.
                var shard = Tag("shard", i % 4);
                counter.Add(1, shard);
                fractional.Add(0.25, shard);
                histogram.Record(i / 4 % 2 == 0 ? 1 : 100, shard);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        start.SignalAndWait();

        // Scrapes racing the writers must still be well-formed.
        while (workers.Exists(w => w.IsAlive))
        {
            CollectValid(exporter);
        }

        workers.ForEach(w => w.Join());
        var samples = Samples(CollectValid(exporter));

        const int PerShard = Threads * PerThread / 4;
        for (var shard = 0; shard < 4; shard++)
        {
            var labels = $"shard=\"{shard}\"";
            Assert.Contains($"skiff_hits_total{{{labels}}} {PerShard}", samples);
            Assert.Contains($"skiff_load_total{{{labels}}} {PerShard / 4}", samples);
            Assert.Contains($"skiff_wait_milliseconds_bucket{{{labels},le=\"1\"}} {PerShard / 2}", samples);
            Assert.Contains($"skiff_wait_milliseconds_bucket{{{labels},le=\"+Inf\"}} {PerShard}", samples);
            Assert.Contains($"skiff_wait_milliseconds_count{{{labels}}} {PerShard}", samples);
            Assert.Contains($"skiff_wait_milliseconds_sum{{{labels}}} {(PerShard / 2 * 101).ToString(CultureInfo.InvariantCulture)}", samples);
        }
    }

    [Fact]
    public void Record_ExistingSeries_AllocatesNothing()
    {
        // Guards the hot path: recording on a known tag set must find its series without building a key.
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        var counter = meter.CreateCounter<long>("skiff.requests");
        var histogram = meter.CreateHistogram<double>("skiff.latency", "ms");
        var method = Tag("method", "GET");
        var route = Tag("route", "/tasks/{id}");
        counter.Add(1, method, route);
        histogram.Record(1, method, route);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            counter.Add(1, route, method);
            histogram.Record(i, method, route);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Contains("skiff_requests_total{method=\"GET\",route=\"/tasks/{id}\"} 1001", Samples(CollectValid(exporter)));
    }

    [Fact]
    public void Collect_InstrumentCreatedBeforeExporter_Exported()
    {
        using var meter = NewMeter();
        var early = meter.CreateCounter<long>("skiff.early");

        using var exporter = Listen(meter);
        early.Add(7);

        Assert.Equal(["skiff_early_total 7"], Samples(CollectValid(exporter)));
    }

    [Fact]
    public void Collect_InstrumentsOfOtherMeters_Ignored()
    {
        using var meter = NewMeter();
        using var other = new Meter(meter.Name + ".Other");
        using var exporter = Listen(meter);
        var ours = meter.CreateCounter<long>("ours");
        var theirs = other.CreateCounter<long>("theirs");

        ours.Add(1);
        theirs.Add(1);
        other.CreateObservableGauge("theirs.observed", () => 1);

        Assert.Equal(["ours_total 1"], Samples(CollectValid(exporter)));
        Assert.False(theirs.Enabled);
    }

    [Fact]
    public void Collect_MeterDisposed_ItsMetricsDropped()
    {
        using var kept = NewMeter();
        var dropped = new Meter(kept.Name);
        using var exporter = Listen(kept);
        kept.CreateCounter<long>("kept").Add(1);
        dropped.CreateCounter<long>("dropped").Add(1);

        dropped.Dispose();

        Assert.Equal(["kept_total 1"], Samples(CollectValid(exporter)));
    }

    [Fact]
    public void Dispose_StopsListening()
    {
        using var meter = NewMeter();
        var exporter = Listen(meter);
        var counter = meter.CreateCounter<long>("skiff.after");
        var observed = 0;
        meter.CreateObservableGauge("skiff.observed", () => ++observed);
        counter.Add(1);
        Assert.True(counter.Enabled);
        CollectValid(exporter);

        exporter.Dispose();
        exporter.Dispose();
        counter.Add(1);

        // No listener is left on the instrument: Add is a no-op and the observable is never read again.
        Assert.False(counter.Enabled);
        Assert.Throws<ObjectDisposedException>(exporter.Collect);
        Assert.Equal(1, observed);
    }

    [Fact]
    public void Collect_ObservableCallbackThrows_OthersExportedAndFailureReported()
    {
        using var meter = NewMeter();
        var failures = new List<Exception>();
        using var exporter = new PrometheusExporter([meter.Name], observeFailed: failures.Add);
        Func<int> broken = () => throw new InvalidOperationException("boom");
        meter.CreateObservableGauge("broken", broken);
        meter.CreateObservableGauge("healthy", () => 5);

        var text = CollectValid(exporter);

        Assert.Equal(["healthy 5"], Samples(text));
        var failure = Assert.IsType<AggregateException>(Assert.Single(failures));
        Assert.Equal("boom", Assert.Single(failure.InnerExceptions).Message);
    }

    [Fact]
    public void Record_MoreTagSetsThanLimit_FoldIntoOverflowSeries()
    {
        using var meter = NewMeter();
        using var exporter = new PrometheusExporter([meter.Name], maxSeriesPerInstrument: 2);
        var counter = meter.CreateCounter<long>("skiff.by_id");

        for (var id = 0; id < 5; id++)
        {
            counter.Add(10 + id, Tag("id", id));
        }

        counter.Add(100, Tag("id", 0));

        Assert.Equal(
            [
                "skiff_by_id_total{id=\"0\"} 110",
                "skiff_by_id_total{id=\"1\"} 11",
                "skiff_by_id_total{otel_metric_overflow=\"true\"} 39",
            ],
            Samples(CollectValid(exporter)));
    }

    [Fact]
    public async Task WriteAsync_WritesCollectOutputAsUtf8WithoutBom()
    {
        using var meter = NewMeter();
        using var exporter = Listen(meter);
        meter.CreateCounter<long>("skiff.unicode").Add(1, Tag("name", "café"));
        using var stream = new MemoryStream();

        await exporter.WriteAsync(stream, CancellationToken.None);

        var bytes = stream.ToArray();
        Assert.NotEqual(0xEF, bytes[0]);
        Assert.Equal(CollectValid(exporter), Encoding.UTF8.GetString(bytes));
        Assert.Contains("name=\"café\"", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NoMeterNames_Throws()
    {
        Assert.Throws<ArgumentException>(() => new PrometheusExporter([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrometheusExporter(["Skiff"], maxSeriesPerInstrument: 0));
    }

    private static Meter NewMeter() => new($"Skiff.Tests.{Guid.NewGuid():N}");

    private static PrometheusExporter Listen(Meter meter) => new([meter.Name]);

    private static KeyValuePair<string, object?> Tag(string name, object? value) => new(name, value);

    private static List<string> Samples(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#'))];

    /// <summary>
    /// Collects and checks the whole output against the 0.0.4 text format: every sample line is well-formed,
    /// each metric has one HELP and one TYPE, and its samples follow its TYPE line.
    /// </summary>
    private static string CollectValid(PrometheusExporter exporter)
    {
        var text = exporter.Collect();
        if (text.Length == 0)
        {
            return text;
        }

        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var helped = new HashSet<string>();
        var typed = new HashSet<string>();
        string? family = null;
        string? familyType = null;
        foreach (var line in text[..^1].Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                Assert.True(comment.Success, $"Malformed comment line: {line}");
                var name = comment.Groups["name"].Value;
                if (comment.Groups["kind"].Value == "HELP")
                {
                    Assert.True(helped.Add(name), $"Second HELP for {name}");
                }
                else
                {
                    Assert.True(typed.Add(name), $"Second TYPE for {name}");
                    Assert.Contains(name, helped);
                    (family, familyType) = (name, comment.Groups["text"].Value);
                }

                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"Malformed sample line: {line}");
            var sampleName = sample.Groups["name"].Value;
            string[] allowed = familyType == "histogram"
                ? [family + "_bucket", family + "_sum", family + "_count"]
                : [family!];
            Assert.Contains(sampleName, allowed);
        }

        return text;
    }

    [GeneratedRegex("""^# (?<kind>HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?: (?<text>.*))?$""")]
    private static partial Regex CommentLine();

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (?:NaN|[+-]Inf|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$""")]
    private static partial Regex SampleLine();
}
