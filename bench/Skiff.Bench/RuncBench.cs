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

        var podman = await PodmanPeer.MeasureAsync(runc, images, dir.Path);

        var (leased, exec) = await SubmitToStartedAsync(dir.Path, warmPool: 0);
        var (_, warmExec) = await SubmitToStartedAsync(dir.Path, warmPool: 1);
        var workers = Math.Clamp(options.MaxWorkers == 0 ? 3 : options.MaxWorkers, 2, 4);
        var (rate, failed) = await ThroughputAsync(dir.Path, workers, options.Seconds);

        return
        [
            new Figure("bare `runc run` of the hardened busybox bundle (`true`), p50", bareP50, "ms", "(reference)"),
            new Figure("bare `runc run`, p90", Stats.Percentile(bare, 90), "ms", "(reference)"),
            new Figure("RuncExecutor (`true`), p50", executorP50, "ms", "—"),
            new Figure("RuncExecutor, p90", Stats.Percentile(executor, 90), "ms", "—"),
            new Figure("executor overhead vs bare runc (p50 ratio)", executorP50 / bareP50, "×", "≤ 1.25×"),
            .. podman is null ? [] : (Figure[])
            [
                new Figure("peer: `podman run --rm` of the same busybox rootfs, imported (`true`, hardened alike), p50", podman.Value.PodmanP50, "ms", "(peer)"),
                new Figure("peer: `podman run --rm`, p90", podman.Value.PodmanP90, "ms", "(peer)"),
                new Figure("peer: bare `runc run` interleaved with podman, p50", podman.Value.BareP50, "ms", "(reference)"),
                new Figure("peer: podman / bare runc (p50 ratio, interleaved)", podman.Value.PodmanP50 / podman.Value.BareP50, "×", "—"),
            ],
            new Figure("server: submit → leased (task startedAt), p50", Stats.Percentile(leased, 50), "ms", "—"),
            new Figure("server: submit → exec inside the container, p50 (cold)", Stats.Percentile(exec, 50), "ms", "≤ 50 ms"),
            new Figure("server: submit → exec inside the container, p90", Stats.Percentile(exec, 90), "ms", "—"),
            new Figure("server, warm pool (Skiff:WarmPool=1): submit → exec inside the container, p50", Stats.Percentile(warmExec, 50), "ms", "≤ 15 ms"),
            new Figure("server, warm pool: submit → exec inside the container, p90", Stats.Percentile(warmExec, 90), "ms", "—"),
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
            var (bareMs, bareRunCpu) = await BareRunAsync(runc, image, swap, root, state, $"bare{i}");
            bareCpu += bareRunCpu;

            var executorRequest = Request($"exec{i}", Path.Combine(root, "exec"), ["true"]);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
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
                bare.Add(bareMs);
                executed.Add(executorClock.Elapsed.TotalMilliseconds);
            }
        }
        Console.WriteLine(FormattableString.Invariant(
            $"runc: own CPU per run of this process: starting bare runc {bareCpu.TotalMilliseconds / (Runs + Warmup):0.0} ms, RuncExecutor {executorCpu.TotalMilliseconds / (Runs + Warmup):0.0} ms"));
        return (bare, executed);
    }

    /// <summary>
    /// One bare <c>runc run</c> (attached, piped stdio, auto-delete) of the config.json Skiff would generate for a
    /// <c>true</c> task; only the run is timed. Returns the wall time and this process's own CPU spent on it.
    /// </summary>
    private static async Task<(double Ms, TimeSpan Cpu)> BareRunAsync(RuncOptions runc, ImageLease image, bool swap, string root, string state, string taskId)
    {
        var request = Request(taskId, Path.Combine(root, "bare"), ["true"]);
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
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        clock.Stop();
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"bare runc run failed ({process.ExitCode}): {await stderr}");
        }
        return (clock.Elapsed.TotalMilliseconds, ownCpu);
    }

    /// <summary>
    /// One task at a time into an idle server. The exec time comes from inside: the task is the host
    /// image's <c>date +%s%N</c> (busybox date has no nanoseconds), the first program the container runs after
    /// tini, on the same clock as the client's submit time.
    /// </summary>
    private static async Task<(List<double> Leased, List<double> Exec)> SubmitToStartedAsync(string root, int warmPool)
    {
        var (server, client) = await ServeMode.StartAsync(Path.Combine(root, $"serve-latency-{warmPool}"), ServeMode.FreePort(), maxWorkers: 2, connections: 4, executor: "runc",
            new Dictionary<string, string> { ["Skiff__WarmPool"] = warmPool.ToString(CultureInfo.InvariantCulture) });
        try
        {
            var leased = new List<double>();
            var exec = new List<double>();
            for (var i = 0; i < 30 + Warmup; i++)
            {
                // Idle between tasks, as the figure says: time for the warm pool to refill behind the last one.
                await Task.Delay(200);
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
            // A fresh server spends its first seconds compiling (tiered JIT: a sixth of all CPU in the window
            // when measured cold, perf 2026-11-25): run 300 tasks first, as a server that has been up a while.
            await SubmitTrueAsync(client, 300);
            while (await RemainingAsync(client) > 0)
            {
                await Task.Delay(100);
            }
            var backlog = Math.Max(200, seconds * 150);
            await SubmitTrueAsync(client, backlog);
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

    private static async Task SubmitTrueAsync(HttpClient client, int count)
    {
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                using var r = await client.PostAsync("/tasks", Json("""{"command":["true"]}"""));
                r.EnsureSuccessStatusCode();
            }
        })));
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

    /// <summary>
    /// The peer figure the isolation issue asks for: <c>podman run --rm --network none</c> of the same busybox
    /// rootfs (tarred and <c>podman import</c>ed), hardened like Skiff's bundle, interleaved with bare
    /// <c>runc run</c> so both see the same machine. Everything podman keeps lives under a directory of this
    /// run (<c>--root</c>, <c>--runroot</c>, <c>--tmpdir</c>, <c>--network-config-dir</c>, TMPDIR) and in a
    /// cgroup parent of its own; what podman 4.3 insists on creating in fixed system paths is removed again
    /// if it was not there before. Null (and one line saying why) when podman is missing or does not work:
    /// podman never fails the bench.
    /// </summary>
    private static class PodmanPeer
    {
        private const int PodmanRuns = 20;
        private const int PodmanWarmup = 3;
        private const string ImageName = "localhost/skiff-bench-busybox";

        // Fixed paths podman 4.3 (as root) creates whatever --root/--runroot say: the image copy's blob-info cache,
        // the network backend's run directory, runc's default state root. Deepest first.
        private static readonly string[] FixedPaths =
        [
            "/var/lib/containers/cache/blob-info-cache-v1.boltdb", "/var/lib/containers/cache", "/var/lib/containers",
            "/run/containers/networks", "/run/containers", "/run/runc",
        ];

        public static async Task<(double PodmanP50, double PodmanP90, double BareP50)?> MeasureAsync(RuncOptions runc, ImageStore images, string root)
        {
            var podman = FindOnPath("podman");
            if (podman is null)
            {
                Console.WriteLine("runc: podman peer skipped: podman is not on PATH");
                return null;
            }
            var home = Directory.CreateDirectory(Path.Combine(root, "podman")).FullName;
            var cgroupParent = "/skiff-bench-podman-" + Guid.NewGuid().ToString("N")[..8];
            var existed = FixedPaths.Where(path => File.Exists(path) || Directory.Exists(path)).ToHashSet(StringComparer.Ordinal);
            try
            {
                return await MeasureAsync(podman, home, cgroupParent, runc, images, root);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
            {
                Console.WriteLine($"runc: podman peer skipped: {e.Message}");
                return null;
            }
            finally
            {
                await CleanUpAsync(podman, home, cgroupParent, existed);
            }
        }

        private static async Task<(double PodmanP50, double PodmanP90, double BareP50)?> MeasureAsync(
            string podman, string home, string cgroupParent, RuncOptions runc, ImageStore images, string root)
        {
            using var image = await images.AcquireAsync(BusyboxImage.Name) ?? throw new InvalidOperationException("no busybox image");
            var swap = new Cgroups().SwapAccounted;
            var tar = Path.Combine(home, "busybox-rootfs.tar");
            System.Formats.Tar.TarFile.CreateFromDirectory(image.RootfsPath, tar, includeBaseDirectory: false);
            var imported = await RunAsync(podman, home, ["import", "--quiet", tar, ImageName]);
            if (imported.ExitCode != 0)
            {
                throw new InvalidOperationException($"podman import failed ({imported.ExitCode}): {LastLine(imported.Stderr)}");
            }
            string[] run =
            [
                "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--user", "65534:65534", "--memory", "512m", .. swap ? (string[])["--memory-swap", "512m"] : [], "--cpus", "0.25",
                "--pids-limit", "256", "--init", "--init-path", runc.TiniPath,
                // podman's root defaults (nofile 1048576, nproc 4194304) are above this machine's hard limits, and
                // runc may not raise them: "error setting rlimit type 7: operation not permitted".
                "--ulimit", $"nofile={OpenFiles(runc)}", "--ulimit", "nproc=4096:4096",
                "--cgroup-parent", cgroupParent, ImageName, "true",
            ];
            Console.WriteLine($"runc: podman peer: {podman} {string.Join(' ', GlobalOptions(home))} {string.Join(' ', run)}");
            var state = Directory.CreateDirectory(Path.Combine(root, "peer-bare-state")).FullName;
            var podmanTimes = new List<double>();
            var bareTimes = new List<double>();
            for (var i = 0; i < PodmanRuns + PodmanWarmup; i++)
            {
                var (bareMs, _) = await BareRunAsync(runc, image, swap, root, state, $"peer{i}");
                var clock = Stopwatch.StartNew();
                var result = await RunAsync(podman, home, run);
                clock.Stop();
                if (result.ExitCode != 0)
                {
                    throw new InvalidOperationException($"podman run failed ({result.ExitCode}): {LastLine(result.Stderr)}");
                }
                if (i >= PodmanWarmup)
                {
                    podmanTimes.Add(clock.Elapsed.TotalMilliseconds);
                    bareTimes.Add(bareMs);
                }
            }
            var podmanP50 = Stats.Percentile(podmanTimes, 50);
            var podmanP90 = Stats.Percentile(podmanTimes, 90);
            var bareP50 = Stats.Percentile(bareTimes, 50);
            Console.WriteLine(FormattableString.Invariant(
                $"runc: podman run p50 {podmanP50:0.0} ms p90 {podmanP90:0.0} ms; bare runc run interleaved p50 {bareP50:0.0} ms p90 {Stats.Percentile(bareTimes, 90):0.0} ms ({PodmanRuns} runs each)"));
            return (podmanP50, podmanP90, bareP50);
        }

        private static string OpenFiles(RuncOptions runc) => FormattableString.Invariant($"{runc.OpenFilesLimit}:{runc.OpenFilesLimit}");

        /// <summary>Everything podman keeps goes under <paramref name="home"/>; the rest pins what podman would detect.</summary>
        private static string[] GlobalOptions(string home) =>
        [
            "--root", Path.Combine(home, "storage"), "--runroot", Path.Combine(home, "run"), "--tmpdir", Path.Combine(home, "libpod"),
            "--network-config-dir", Path.Combine(home, "net"), "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file", "--runtime", "runc",
        ];

        private static async Task<(int ExitCode, string Stderr)> RunAsync(string podman, string home, IReadOnlyList<string> arguments)
        {
            var start = new ProcessStartInfo(podman)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            // podman import stages the layer under TMPDIR (default /var/tmp).
            start.Environment["TMPDIR"] = Directory.CreateDirectory(Path.Combine(home, "tmp")).FullName;
            foreach (var argument in GlobalOptions(home).Concat(arguments))
            {
                start.ArgumentList.Add(argument);
            }
            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // A hung podman must not hang the bench: end it (and what it started), report, go on without it.
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                throw new InvalidOperationException($"podman {string.Join(' ', arguments.Take(1))} did not end within 60 s");
            }
            await Task.WhenAll(stdout, stderr);
            return (process.ExitCode, await stderr);
        }

        /// <summary>
        /// Removes containers and images through podman, waits for the cleanup processes conmon starts after each
        /// container (<c>podman container cleanup</c>), unmounts whatever is still mounted under the home, then
        /// the cgroup parent in every hierarchy and the fixed paths podman created. Best effort, never throws.
        /// </summary>
        private static async Task CleanUpAsync(string podman, string home, string cgroupParent, HashSet<string> existed)
        {
            try
            {
                if (Directory.Exists(Path.Combine(home, "storage")))
                {
                    await RunAsync(podman, home, ["rm", "--all", "--force"]);
                    await RunAsync(podman, home, ["rmi", "--all", "--force"]);
                }
                var deadline = Stopwatch.StartNew();
                while (ProcessesUsing(home) > 0 && deadline.Elapsed < TimeSpan.FromSeconds(15))
                {
                    await Task.Delay(100);
                }
                foreach (var mount in MountsUnder(home).OrderByDescending(path => path.Length))
                {
                    var umount = Process.Start(new ProcessStartInfo("umount", ["--lazy", mount]) { UseShellExecute = false });
                    await umount!.WaitForExitAsync();
                    umount.Dispose();
                }
                Directory.Delete(home, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                Console.WriteLine($"runc: podman peer cleanup of {home}: {e.Message}");
            }

            var hierarchies = Directory.Exists("/sys/fs/cgroup") ? Directory.GetDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup") : [];
            foreach (var hierarchy in hierarchies)
            {
                RemoveCgroup(Path.Combine(hierarchy, cgroupParent.TrimStart('/')));
            }
            foreach (var path in FixedPaths.Where(path => !existed.Contains(path)))
            {
                try
                {
                    if (File.Exists(path))
                    {
                        File.Delete(path);
                    }
                    else if (Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any())
                    {
                        Directory.Delete(path);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Console.WriteLine($"runc: podman peer cleanup of {path}: {e.Message}");
                }
            }
        }

        /// <summary>cgroup directories go with rmdir once empty of processes and children, deepest first.</summary>
        private static void RemoveCgroup(string path)
        {
            if (!Directory.Exists(path))
            {
                return;
            }
            try
            {
                foreach (var child in Directory.GetDirectories(path))
                {
                    RemoveCgroup(child);
                }
                Directory.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.WriteLine($"runc: podman peer cleanup of cgroup {path}: {e.Message}");
            }
        }

        /// <summary>Processes whose command line names <paramref name="home"/>: podman and its cleanup children.</summary>
        private static int ProcessesUsing(string home)
        {
            var count = 0;
            foreach (var proc in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(proc), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    continue;
                }
                try
                {
                    if (File.ReadAllText(Path.Combine(proc, "cmdline")).Contains(home, StringComparison.Ordinal))
                    {
                        count++;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Gone meanwhile.
                }
            }
            return count;
        }

        private static List<string> MountsUnder(string home) =>
        [
            .. File.ReadLines("/proc/self/mountinfo")
                .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
                .Where(mount => mount == home || mount.StartsWith(home + "/", StringComparison.Ordinal)),
        ];

        private static string? FindOnPath(string name) =>
            (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin")
                .Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(directory => Path.Combine(directory, name))
                .FirstOrDefault(File.Exists);

        private static string LastLine(string text) =>
            text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no output)";
    }

    private sealed class NullSink : IExecutionSink
    {
        public static readonly NullSink Instance = new();

        public ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Started(DateTimeOffset at)
        {
        }
    }
}
