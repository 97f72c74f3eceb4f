using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Skiff.Core.Tasks;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Images;

namespace Skiff.Bench;

/// <summary>
/// Container start cost, side by side in one run: a bare <c>runc run</c> of the same hardened busybox bundle
/// Skiff generates (OciSpecBuilder), the same through RuncExecutor, then a real server process with
/// <c>--executor runc</c> (submit → started, and sustained `true` tasks/s). Needs root, runc, tini.
/// </summary>
internal static class RuncBench
{
    private const int Runs = 50;
    private const int Warmup = 5;

    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchOptions options)
    {
        if (!RuncExecutor.IsAvailable(out var reason))
        {
            throw new InvalidOperationException($"runc bench: {reason}");
        }
        using var dir = new TempDir();
        var images = new ImageStore(new ImageStoreOptions { Directory = Path.Combine(dir.Path, "images") });
        await images.InitializeAsync();
        var runc = new RuncOptions { StateRoot = Path.Combine(dir.Path, "runc"), ImagesDirectory = images.Directory, Images = images };

        var (bare, executor) = await BareAndExecutorAsync(runc, images, dir.Path);
        var bareP50 = Stats.Percentile(bare, 50);
        var executorP50 = Stats.Percentile(executor, 50);
        Console.WriteLine($"runc: bare runc run p50 {bareP50:0.0} ms p90 {Stats.Percentile(bare, 90):0.0} ms; "
            + $"RuncExecutor p50 {executorP50:0.0} ms p90 {Stats.Percentile(executor, 90):0.0} ms ({Runs} runs each)");

        var (leased, exec) = await SubmitToStartedAsync(dir.Path);
        var workers = Math.Clamp(options.MaxWorkers == 0 ? 3 : options.MaxWorkers, 2, 4);
        var (rate, failed) = await ThroughputAsync(dir.Path, workers, options.Seconds);

        return
        [
            new Figure("bare `runc run` of the hardened busybox bundle (`true`), p50", bareP50, "ms", "(reference)"),
            new Figure("bare `runc run`, p90", Stats.Percentile(bare, 90), "ms", "(reference)"),
            new Figure("RuncExecutor (`true`), p50", executorP50, "ms", "—"),
            new Figure("RuncExecutor, p90", Stats.Percentile(executor, 90), "ms", "—"),
            new Figure("executor overhead vs bare runc (p50 ratio)", executorP50 / bareP50, "×", "≤ 1.25×"),
            new Figure("server: submit → leased (task startedAt), p50", Stats.Percentile(leased, 50), "ms", "—"),
            new Figure("server: submit → exec inside the container, p50 (cold)", Stats.Percentile(exec, 50), "ms", "≤ 50 ms"),
            new Figure("server: submit → exec inside the container, p90", Stats.Percentile(exec, 90), "ms", "—"),
            new Figure($"server: isolated `true` tasks/s, {workers} workers, {options.Seconds} s ({failed} failed)", rate, "tasks/s", "≥ 50 tasks/s"),
        ];
    }

    private static ExecutionRequest Request(string taskId, string work, IReadOnlyList<string> command) => new()
    {
        TaskId = taskId,
        Attempt = 1,
        Command = command,
        WorkDirectory = Directory.CreateDirectory(Path.Combine(work, taskId, "work")).FullName,
        OutputDirectory = Directory.CreateDirectory(Path.Combine(work, taskId, "out")).FullName,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>
    /// Alternately a bare <c>runc run</c> (attached, auto-delete) of the config.json Skiff would generate (only
    /// the run is timed) and the same task through RuncExecutor (everything timed): interleaved, so both see
    /// the same machine, whatever else it is doing.
    /// </summary>
    private static async Task<(List<double> Bare, List<double> Executor)> BareAndExecutorAsync(RuncOptions runc, ImageStore images, string root)
    {
        using var image = await images.AcquireAsync(BusyboxImage.Name) ?? throw new InvalidOperationException("no busybox image");
        var state = Directory.CreateDirectory(Path.Combine(root, "bare-state")).FullName;
        var swap = new Cgroups().SwapAccounted;
        var executor = new RuncExecutor(runc);
        var bare = new List<double>();
        var executed = new List<double>();
        // This process's own CPU (children excluded) spent starting bare runc vs running the executor.
        var bareCpu = TimeSpan.Zero;
        var executorCpu = TimeSpan.Zero;
        for (var i = 0; i < Runs + Warmup; i++)
        {
            var request = Request($"bare{i}", Path.Combine(root, "bare"), ["true"]);
            var id = request.TaskId + "-1";
            var bundle = Directory.CreateDirectory(Path.Combine(root, "bare-bundles", id)).FullName;
            var spec = OciSpecBuilder.Build(request, id, image.RootfsPath, runc, swap, image.HostBinds);
            await File.WriteAllBytesAsync(Path.Combine(bundle, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.OciSpec));

            var start = new ProcessStartInfo(runc.RuncPath)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in (string[])["--root", state, "run", "--bundle", bundle, id])
            {
                start.ArgumentList.Add(argument);
            }
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            using (var process = Process.Start(start)!)
            {
                process.StandardInput.Close();
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync();
                await Task.WhenAll(stdout, stderr);
                clock.Stop();
                bareCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"bare runc run failed ({process.ExitCode}): {await stderr}");
                }
            }

            var executorRequest = Request($"exec{i}", Path.Combine(root, "exec"), ["true"]);
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var executorClock = Stopwatch.StartNew();
            var result = await executor.ExecuteAsync(executorRequest, NullSink.Instance, CancellationToken.None);
            executorClock.Stop();
            executorCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
            if (result.Status != ExecutionStatus.Exited || result.ExitCode != 0)
            {
                throw new InvalidOperationException($"RuncExecutor run failed: {result.Status} {result.Error}");
            }
            if (i >= Warmup)
            {
                bare.Add(clock.Elapsed.TotalMilliseconds);
                executed.Add(executorClock.Elapsed.TotalMilliseconds);
            }
        }
        Console.WriteLine(FormattableString.Invariant(
            $"runc: own CPU per run of this process: starting bare runc {bareCpu.TotalMilliseconds / (Runs + Warmup):0.0} ms, RuncExecutor {executorCpu.TotalMilliseconds / (Runs + Warmup):0.0} ms"));
        return (bare, executed);
    }

    /// <summary>
    /// One task at a time into an idle server. The exec time comes from inside: the task is the host
    /// image's <c>date +%s%N</c> (busybox date has no nanoseconds), the first program the container runs after
    /// tini, on the same clock as the client's submit time.
    /// </summary>
    private static async Task<(List<double> Leased, List<double> Exec)> SubmitToStartedAsync(string root)
    {
        var (server, client) = await ServeMode.StartAsync(Path.Combine(root, "serve-latency"), ServeMode.FreePort(), maxWorkers: 2, connections: 4, executor: "runc");
        try
        {
            var leased = new List<double>();
            var exec = new List<double>();
            for (var i = 0; i < 30 + Warmup; i++)
            {
                var submitted = DateTimeOffset.UtcNow;
                using var response = await client.PostAsync("/tasks", Json("""{"image":"host","command":["date","+%s%N"]}"""));
                response.EnsureSuccessStatusCode();
                var taskId = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["taskId"]!;
                var task = await WaitTerminalAsync(client, taskId);
                if ((string)task["status"]! != "succeeded")
                {
                    throw new InvalidOperationException($"latency task {taskId} ended {task["status"]}: {task["error"]}");
                }
                var result = (await client.GetFromJsonAsync<JsonObject>($"/tasks/{taskId}/result"))!;
                var insideNs = long.Parse(((string)result["stdoutTail"]!).Trim(), CultureInfo.InvariantCulture);
                if (i >= Warmup)
                {
                    leased.Add((DateTimeOffset.Parse((string)task["startedAt"]!, CultureInfo.InvariantCulture) - submitted).TotalMilliseconds);
                    exec.Add((insideNs - (submitted - DateTimeOffset.UnixEpoch).Ticks * 100) / 1e6);
                }
            }
            return (leased, exec);
        }
        finally
        {
            client.Dispose();
            await ServeMode.StopAsync(server);
        }
    }

    /// <summary>
    /// A backlog larger than the window can drain is submitted first; completions are counted from /health's
    /// queue and running counts over the window.
    /// </summary>
    private static async Task<(double Rate, int Failed)> ThroughputAsync(string root, int workers, int seconds)
    {
        var (server, client) = await ServeMode.StartAsync(Path.Combine(root, "serve-rate"), ServeMode.FreePort(), workers, connections: 16, executor: "runc");
        try
        {
            var backlog = Math.Max(200, seconds * 150);
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) <= backlog)
                {
                    using var r = await client.PostAsync("/tasks", Json("""{"command":["true"]}"""));
                    r.EnsureSuccessStatusCode();
                }
            })));
            var before = await RemainingAsync(client);
            var cpuBefore = CpuTicks(server.Id);
            var clock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var after = await RemainingAsync(client);
            var cpuAfter = CpuTicks(server.Id);
            var elapsed = clock.Elapsed.TotalSeconds;
            // Where the CPU of an isolated task goes: the server itself, and runc with the container (its
            // reaped children, whose times the kernel adds to cutime/cstime).
            var done = Math.Max(1, before - after);
            Console.WriteLine(FormattableString.Invariant(
                $"runc: CPU per task: server {(cpuAfter.Own - cpuBefore.Own) * 10.0 / done:0.0} ms, runc + container {(cpuAfter.Children - cpuBefore.Children) * 10.0 / done:0.0} ms ({done} tasks)"));
            if (after == 0)
            {
                Console.WriteLine("runc: the backlog ran out inside the window; the rate is a lower bound");
            }
            var failed = (await client.GetFromJsonAsync<JsonObject>("/tasks?status=failed&limit=500"))!["items"]!.AsArray().Count;
            return ((before - after) / elapsed, failed);
        }
        finally
        {
            client.Dispose();
            await ServeMode.StopAsync(server);
        }
    }

    /// <summary>utime + stime and cutime + cstime of a process, in clock ticks (100 per second on Linux).</summary>
    private static (long Own, long Children) CpuTicks(int pid)
    {
        // The fields after the command (which may hold spaces) start at state, field 3.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return (Field(14) + Field(15), Field(16) + Field(17));
    }

    private static async Task<int> RemainingAsync(HttpClient client)
    {
        var health = (await client.GetFromJsonAsync<JsonObject>("/health"))!;
        return (int)health["queues"]!["standard"]! + (int)health["queues"]!["priority"]! + (int)health["running"]!;
    }

    private static async Task<JsonObject> WaitTerminalAsync(HttpClient client, string taskId)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var task = (await client.GetFromJsonAsync<JsonObject>($"/tasks/{taskId}"))!;
            if ((string)task["status"]! is "succeeded" or "failed" or "cancelled" or "timed_out")
            {
                return task;
            }
            await Task.Delay(5);
        }
        throw new TimeoutException($"task {taskId} did not end within 30 s");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private sealed class NullSink : IExecutionSink
    {
        public static readonly NullSink Instance = new();

        public ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Started(DateTimeOffset at)
        {
        }
    }
}
