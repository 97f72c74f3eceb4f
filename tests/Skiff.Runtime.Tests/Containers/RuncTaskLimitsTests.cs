using System.Diagnostics;
using Skiff.Core.Tasks;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Tests.Execution;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Containers;

// The per-task limits (pidsLimit, ephemeralStorageMb, user) in real runc containers with the busybox image.
[Collection(RuncCollection.Name)]
public sealed class RuncTaskLimitsTests(RuncFixture fixture) : RuncAttemptTests(fixture)
{
    private IReadOnlyList<string> Stdout => Sink.Lines(LogStream.Stdout);

    [Fact]
    public async Task ExecuteAsync_PidsLimit20_BackgroundProcessesStopAtTheLimit()
    {
        // Starts background sleeps until fork fails (ash then leaves the subshell) or 200 were started, then
        // counts the container's processes with builtins only, since no fork is left to spare. tini, the shell
        // and the sleeps all count towards pids.max.
        var script = "(i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done) 2>/dev/null; "
            + "c=0; for p in /proc/[0-9]*; do c=$((c+1)); done; echo \"procs $c\"";
        var clock = Stopwatch.StartNew();

        var result = await RunAsync(Shell(script) with { PidsLimit = 20 });

        Assert.Equal(ExecutionStatus.Exited, result.Status);
        Assert.Equal(0, result.ExitCode);
        var count = int.Parse(Assert.Single(Stdout, line => line.StartsWith("procs ", StringComparison.Ordinal))["procs ".Length..]);
        // Well past a handful (the loop ran until the limit stopped it), never past 20.
        Assert.InRange(count, 15, 20);
        // The host stayed responsive: the attempt ended long before its timeout and the host still forks at once.
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        using var host = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(2)), "the host could not run a process");
    }

    [Theory]
    [InlineData("/tmp")]
    [InlineData("/work")]
    public async Task ExecuteAsync_EphemeralStorage4Mb_WritingMoreFailsWithEnospc(string directory)
    {
        // 2 MB fits (so the cap is not simply "nothing"); 8 MB more does not.
        var script = $"dd if=/dev/zero of={directory}/fits bs=1M count=2 2>/dev/null && echo fits; rm {directory}/fits; "
            + $"dd if=/dev/zero of={directory}/big bs=1M count=8; echo \"dd $?\"; echo \"size $(wc -c < {directory}/big)\"";

        var result = await RunAsync(Shell(script) with { EphemeralStorageMb = 4 });

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("fits", Stdout);
        Assert.DoesNotContain("dd 0", Stdout);
        Assert.Contains(Sink.Lines(LogStream.Stderr), line => line.Contains("No space left on device", StringComparison.Ordinal));
        var size = long.Parse(Assert.Single(Stdout, line => line.StartsWith("size ", StringComparison.Ordinal))["size ".Length..]);
        Assert.InRange(size, 1, 4L << 20);
    }

    [Theory]
    [InlineData(1234u, 2345u)]
    [InlineData(65534u, 65534u)]
    [InlineData(0u, 0u)]
    public async Task ExecuteAsync_User_ProcessRunsAsItAndOwnsWork(uint uid, uint gid)
    {
        var result = await RunAsync(Shell("id -u; id -g; touch /work/mine && echo work-writable") with { User = new TaskUser(uid, gid) });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal([uid.ToString(), gid.ToString(), "work-writable"], Stdout);
    }
}
