using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Skiff.Core.Tasks;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Tests.Execution;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Containers;

// Real containers under runc with the busybox image; each test also checks that the attempt left nothing
// behind (no container in the state root, no cgroup, no bundle).
[Collection(RuncCollection.Name)]
public sealed class RuncExecutorTests(RuncFixture fixture) : RuncAttemptTests(fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private Task<ExecutionResult> RunShellAsync(string script) => RunAsync(Shell(script));

    private string Stdout => string.Join("\n", Sink.Lines(LogStream.Stdout));

    [Fact]
    public void Properties_RuncExecutor_Isolates()
    {
        Assert.Equal("runc", Fixture.Executor.Name);
        Assert.True(Fixture.Executor.Isolates);
        Assert.True(Fixture.Available, Fixture.Problem);
    }

    [Fact]
    public async Task ExecuteAsync_Echo_CapturesEachStreamAndExitCode()
    {
        var result = await RunShellAsync("echo out; echo err >&2; exit 3");

        Assert.Equal(ExecutionStatus.Exited, result.Status);
        Assert.Equal(3, result.ExitCode);
        Assert.Null(result.Error);
        Assert.Equal(["out"], Sink.Lines(LogStream.Stdout));
        Assert.Equal(["err"], Sink.Lines(LogStream.Stderr));
        Assert.Equal("out", result.StdoutTail);
        Assert.Equal("err", result.StderrTail);
        Assert.NotNull(Sink.StartedAt);
        Assert.True(result.Usage.WallMs > 0);
    }

    [Fact]
    public async Task ExecuteAsync_Environment_HasTaskVariablesAndOutputReachesHost()
    {
        const string Script = "echo \"$GREETING|$SKIFF_TASK_ID|$SKIFF_ATTEMPT|$SKIFF_OUTPUT|$HOME|$(pwd)|$(hostname)\"; "
            + "echo result > \"$SKIFF_OUTPUT/r.txt\"; echo scratch > w.txt && cat w.txt";
        var env = new Dictionary<string, string> { ["GREETING"] = "hi", ["SKIFF_OUTPUT"] = "/elsewhere" };
        var request = Shell(Script) with { Env = env };

        var result = await RunAsync(request);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal([$"hi|{TaskId}|1|/output|/work|/work|{TaskId}", "scratch"], Sink.Lines(LogStream.Stdout));
        Assert.Equal("result\n", File.ReadAllText(Path.Combine(Output, "r.txt")));
        // /work is the container's own capped scratch: only /output reaches the host.
        Assert.False(File.Exists(Path.Combine(Work, "w.txt")));
    }

    [Fact]
    public async Task ExecuteAsync_Identity_RunsAsNobodyWithoutCapabilities()
    {
        var result = await RunShellAsync(
            "id -u; id -g; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status; grep NoNewPrivs /proc/self/status; "
            + "mkdir /tmp/y; mount -t tmpfs x /tmp/y && echo mounted; touch f; chown 0:0 f && echo chowned; "
            + "unshare -U true && echo userns; echo end");

        Assert.Equal(0, result.ExitCode);
        var lines = Sink.Lines(LogStream.Stdout);
        Assert.Equal("65534", lines[0]);
        Assert.Equal("65534", lines[1]);
        Assert.Contains("CapEff:\t0000000000000000", lines);
        Assert.Contains("CapPrm:\t0000000000000000", lines);
        Assert.Contains("CapBnd:\t0000000000000000", lines);
        Assert.Contains(lines, line => line.StartsWith("NoNewPrivs:", StringComparison.Ordinal) && line.EndsWith('1'));
        Assert.DoesNotContain("mounted", lines);
        Assert.DoesNotContain("chowned", lines);
        Assert.DoesNotContain("userns", lines);
        Assert.Equal("end", lines[^1]);
    }

    [Fact]
    public async Task ExecuteAsync_Processes_HostProcessesInvisible()
    {
        var result = await RunShellAsync("for p in /proc/[0-9]*; do echo ${p#/proc/}; done");

        Assert.Equal(0, result.ExitCode);
        var pids = Sink.Lines(LogStream.Stdout).Select(int.Parse).ToList();
        // tini (1), the shell, perhaps a subshell: nothing of the host's hundreds, not the test itself.
        Assert.InRange(pids.Count, 2, 4);
        Assert.Contains(1, pids);
        Assert.DoesNotContain(Environment.ProcessId, pids);
    }

    [Fact]
    public async Task ExecuteAsync_FileSystem_RootReadOnlyHostFilesInvisible()
    {
        var secret = Root.Combine("secret.txt");
        File.WriteAllText(secret, "host secret");

        var result = await RunShellAsync(
            $"cat '{secret}' 2>/dev/null; cat /proc/1/root/etc/shadow 2>/dev/null; ls /root 2>/dev/null; "
            + "touch /bin/x 2>/dev/null && echo root-writable; touch /etc/x 2>/dev/null && echo etc-writable; "
            + "touch /tmp/t /work/w /output/o && echo scratch-writable; "
            + "df -m /tmp | tail -1 | awk '{print \"tmp \" $2}'");

        Assert.Equal(0, result.ExitCode);
        var lines = Sink.Lines(LogStream.Stdout);
        Assert.DoesNotContain(lines, line => line.Contains("host secret", StringComparison.Ordinal));
        Assert.DoesNotContain("root-writable", lines);
        Assert.DoesNotContain("etc-writable", lines);
        Assert.Contains("scratch-writable", lines);
        Assert.Contains($"tmp {TaskDefaults.EphemeralStorageMb}", lines);
        Assert.False(File.Exists(Path.Combine(BusyboxImage.RootfsPath(Fixture.Options.ImagesDirectory), "bin", "x")));
    }

    [Fact]
    public async Task ExecuteAsync_NetworkNone_CannotReachHostLoopback()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptTcpClientAsync();

        var result = await RunShellAsync($"echo ping | nc -w 2 127.0.0.1 {port} && echo connected; echo done");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("connected", Sink.Lines(LogStream.Stdout));
        Assert.False(accepted.IsCompleted, "the host listener accepted a connection from a network-none container");
    }

    [Fact]
    public async Task ExecuteAsync_NetworkNone_OwnLoopbackWorks()
    {
        // "none" still means a loopback of the task's own (runc raises lo in the new network namespace).
        var result = await RunShellAsync(
            // The client retries until the listener is up: a fixed sleep lost that race on a loaded machine.
            "nc -l -p 7777 > /tmp/got & for i in $(seq 100); do echo ping | nc -w 2 127.0.0.1 7777 && break; sleep 0.1; done; wait; cat /tmp/got");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("ping", Sink.Lines(LogStream.Stdout));
    }

    [Fact]
    public async Task ExecuteAsync_NetworkHost_ReachesHostLoopback()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var served = Task.Run(async () =>
        {
            // Reads the container's line and hangs up, which ends nc.
            using var client = await listener.AcceptTcpClientAsync();
            using var reader = new StreamReader(client.GetStream());
            return await reader.ReadLineAsync();
        });

        var result = await RunAsync(Shell($"echo ping | nc -w 2 127.0.0.1 {port} && echo connected") with { Network = "host" });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("ping", await served.WaitAsync(Deadline));
        Assert.Contains("connected", Sink.Lines(LogStream.Stdout));
    }

    [Fact]
    public async Task ExecuteAsync_MemoryBomb_IsOomKilled()
    {
        var request = Shell("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived") with { MemoryMb = 32 };

        var result = await RunAsync(request);

        Assert.Equal(ExecutionStatus.OomKilled, result.Status);
        Assert.Equal("OOMKilled: exceeded its memory limit of 32 MiB", result.Error);
        Assert.DoesNotContain("survived", Sink.Lines(LogStream.Stdout));
        Assert.InRange(result.Usage.PeakMemoryBytes, 16L << 20, 33L << 20);
    }

    [Fact]
    public async Task ExecuteAsync_ForkBomb_IsContainedByPidsLimitAndKilled()
    {
        var request = Shell("bomb() { bomb | bomb & }; bomb; sleep 100") with { Timeout = TimeSpan.FromSeconds(2) };
        var pidsCurrent = $"/sys/fs/cgroup/pids/skiff/{ContainerId}/pids.current";
        long mostSeen = 0;
        using var stopWatching = new CancellationTokenSource();
        var watching = Task.Run(async () =>
        {
            while (!stopWatching.IsCancellationRequested)
            {
                try
                {
                    mostSeen = Math.Max(mostSeen, long.Parse(File.ReadAllText(pidsCurrent).Trim()));
                }
                catch (IOException)
                {
                }
                await Task.Delay(20);
            }
        });
        var clock = Stopwatch.StartNew();

        var result = await RunAsync(request);
        await stopWatching.CancelAsync();
        await watching;

        Assert.Equal(ExecutionStatus.TimedOut, result.Status);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8));
        // The bomb did run (well past a handful of processes) and never got past the limit.
        Assert.InRange(mostSeen, 32, TaskDefaults.PidsLimit);
    }

    [Fact]
    public async Task ExecuteAsync_Timeout_KillsContainer()
    {
        var request = Shell("echo started; sleep 100") with { Timeout = TimeSpan.FromSeconds(1) };
        var clock = Stopwatch.StartNew();

        var result = await RunAsync(request);

        Assert.Equal(ExecutionStatus.TimedOut, result.Status);
        Assert.Equal("timed out after 1s", result.Error);
        Assert.Equal(137, result.ExitCode);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        Assert.Equal(["started"], Sink.Lines(LogStream.Stdout));
    }

    [Fact]
    public async Task ExecuteAsync_Cancel_KillsContainerWithLimitsApplied()
    {
        Assert.True(Fixture.Available, Fixture.Problem);
        var request = Shell("echo started; sleep 100") with { Cpu = 512, MemoryMb = 64 };
        using var cancel = new CancellationTokenSource();
        var running = Fixture.Executor.ExecuteAsync(request, Sink, cancel.Token);
        Assert.True(await Poll.UntilAsync(() => Sink.Lines(LogStream.Stdout).Count > 0, Deadline), "never started");

        var memory = File.ReadAllText($"/sys/fs/cgroup/memory/skiff/{ContainerId}/memory.limit_in_bytes").Trim();
        var quota = File.ReadAllText($"/sys/fs/cgroup/cpu/skiff/{ContainerId}/cpu.cfs_quota_us").Trim();
        var pids = File.ReadAllText($"/sys/fs/cgroup/pids/skiff/{ContainerId}/pids.max").Trim();
        // config.json carries the task's environment (secrets included): root alone may read it.
        var configMode = File.GetUnixFileMode(Path.Combine(Fixture.Options.StateRoot, "bundles", ContainerId, "config.json"));
        var clock = Stopwatch.StartNew();
        await cancel.CancelAsync();
        var result = await running.WaitAsync(Deadline);

        Assert.Equal(ExecutionStatus.Cancelled, result.Status);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.Equal((64L << 20).ToString(), memory);
        Assert.Equal("50000", quota);
        Assert.Equal(TaskDefaults.PidsLimit.ToString(), pids);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, configMode);
        await AssertNothingLeftAsync();
    }

    [Fact]
    public async Task ExecuteAsync_AnotherTaskRunning_ItsWorkAndOutputAreOutOfReach()
    {
        Assert.True(Fixture.Available, Fixture.Problem);
        var marker = "marker-" + Guid.NewGuid().ToString("N")[..12];
        var otherOutput = Directory.CreateDirectory(Root.Combine("other-out")).FullName;
        var other = new ExecutionRequest
        {
            TaskId = "t_" + Guid.NewGuid().ToString("N")[..20],
            Attempt = 1,
            Command = ["sh", "-c", $"echo {marker} > /work/{marker}; echo {marker} > /output/{marker}; echo written; sleep 100"],
            WorkDirectory = Directory.CreateDirectory(Root.Combine("other-work")).FullName,
            OutputDirectory = otherOutput,
            Timeout = TimeSpan.FromSeconds(60),
        };
        var otherSink = new RecordingSink();
        using var stopOther = new CancellationTokenSource();
        var running = Fixture.Executor.ExecuteAsync(other, otherSink, stopOther.Token);
        Assert.True(await Poll.UntilAsync(() => otherSink.Lines(LogStream.Stdout).Count > 0, Deadline), "the other task never wrote its files");
        Assert.True(File.Exists(Path.Combine(otherOutput, marker)), "the other task's output is not where the test looks");

        // Every path this task can see (names and contents), and its /proc, where another container's root would show.
        var result = await Fixture.Executor.ExecuteAsync(Shell(
            $"echo {marker} > /work/own-{marker}; "
            + $"find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -print 2>/dev/null | grep {marker}; "
            + $"grep -rls {marker} /work /output /tmp /etc /root 2>/dev/null; "
            + $"ls -d /proc/*/root/work/{marker} /proc/*/root/output/{marker} 2>/dev/null; echo searched"), Sink, CancellationToken.None);
        await stopOther.CancelAsync();
        var otherResult = await running.WaitAsync(Deadline);
        await AssertNothingLeftAsync();

        Assert.Equal(0, result.ExitCode);
        // The search does find a file of its own (so it would have found the other task's), and nothing else.
        Assert.Equal([$"/work/own-{marker}", $"/work/own-{marker}", "searched"], Sink.Lines(LogStream.Stdout));
        Assert.Equal(ExecutionStatus.Cancelled, otherResult.Status);
    }

    [Fact]
    public async Task ExecuteAsync_UnknownImage_FailsToStart()
    {
        var result = await RunAsync(Shell("true") with { Image = "alpine" });

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Equal("unknown image 'alpine'", result.Error);
    }

    [Fact]
    public async Task ExecuteAsync_CommandNotFound_FailsToStart()
    {
        var result = await RunAsync(Shell("true") with { Command = ["no-such-command"] });

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Null(result.ExitCode);
        Assert.Equal("cannot start: exec no-such-command failed: No such file or directory", result.Error);
    }

    [Fact]
    public async Task ExecuteAsync_RuncCannotCreateContainer_FailsToStartWithRuncsReason()
    {
        Assert.True(Fixture.Available, Fixture.Problem);
        var executor = new RuncExecutor(Fixture.Options with { TiniPath = "/nonexistent/tini" });

        var result = await executor.ExecuteAsync(Shell("true"), Sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Null(result.ExitCode);
        Assert.StartsWith("cannot start container: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/tini", result.Error, StringComparison.Ordinal);
        await AssertNothingLeftAsync();
    }

    [Fact]
    public async Task CleanupLeftoversAsync_AfterServerKilled_RemovesContainersCgroupsAndBundles()
    {
        Assert.True(Fixture.Available, Fixture.Problem);
        // What a kill -9 of the server leaves: a running container with its bundle and cgroups.
        var options = Fixture.Options with { StateRoot = Root.Combine("crashed") };
        var bundle = Path.Combine(options.StateRoot, "bundles", ContainerId);
        Directory.CreateDirectory(bundle);
        var rootfs = await BusyboxImage.EnsureAsync(options.ImagesDirectory);
        var spec = OciSpecBuilder.Build(Shell("sleep 100"), ContainerId, rootfs, options, new Cgroups().SwapAccounted);
        File.WriteAllBytes(Path.Combine(bundle, "config.json"), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.OciSpec));
        var state = Path.Combine(options.StateRoot, "state");
        using (var detached = Process.Start("/bin/sh", ["-c", $"'{options.RuncPath}' --root '{state}' run --detach --bundle '{bundle}' {ContainerId} </dev/null >/dev/null 2>&1"]))
        {
            await detached.WaitForExitAsync();
            Assert.Equal(0, detached.ExitCode);
        }
        var runc = new RuncCli(options.RuncPath, state);
        Assert.Equal([ContainerId], await runc.ListAsync());

        await RuncExecutor.CleanupLeftoversAsync(options);

        Assert.Empty(await runc.ListAsync());
        Assert.Empty(new Cgroups().Directories(ContainerId));
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(options.StateRoot, "bundles")));
    }
}
