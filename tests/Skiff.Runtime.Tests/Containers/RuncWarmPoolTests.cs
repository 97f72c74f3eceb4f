using Skiff.Core.Tasks;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Tests.Execution;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Containers;

// The warm pool: containers created and started ahead, each serving one attempt through a fifo. Each test
// ends by disposing the executor and checking that no container, cgroup or bundle of the pool is left.
[Collection(RuncCollection.Name)]
public sealed class RuncWarmPoolTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly RuncFixture _fixture;
    private readonly TempDirectory _root = new();
    private readonly RuncExecutor _executor;
    // Other test assemblies may run warm pools of their own at the same time: only new cgroups are this test's.
    private readonly HashSet<string> _warmCgroupsBefore = WarmCgroups();

    public RuncWarmPoolTests(RuncFixture fixture)
    {
        _fixture = fixture;
        _executor = new RuncExecutor(fixture.Options with { WarmPoolSize = 1 });
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _executor.DisposeAsync();
        var runc = new RuncCli(_fixture.Options.RuncPath, Path.Combine(_fixture.Options.StateRoot, "state"));
        Assert.Empty(await runc.ListAsync());
        Assert.Empty(Directory.Exists(Path.Combine(_fixture.Options.StateRoot, "bundles"))
            ? Directory.GetDirectories(Path.Combine(_fixture.Options.StateRoot, "bundles"))
            : []);
        Assert.Empty(WarmCgroups().Except(_warmCgroupsBefore));
    }

    private static HashSet<string> WarmCgroups() =>
        [.. new Cgroups().ParentDirectories().SelectMany(Directory.GetDirectories).Where(d => Path.GetFileName(d).StartsWith(WarmPool.IdPrefix, StringComparison.Ordinal))];

    public void Dispose() => _root.Dispose();

    private ExecutionRequest Shell(string name, string script, TimeSpan? timeout = null) => new()
    {
        TaskId = "t_" + name + Guid.NewGuid().ToString("N")[..12],
        Attempt = 1,
        Command = ["sh", "-c", script],
        Env = new Dictionary<string, string> { ["GREETING"] = "it's warm" },
        WorkDirectory = Directory.CreateDirectory(_root.Combine(name, "work")).FullName,
        OutputDirectory = Directory.CreateDirectory(_root.Combine(name, "out")).FullName,
        Timeout = timeout ?? TimeSpan.FromSeconds(20),
    };

    /// <summary>Runs a first attempt of the shape cold (which fills the pool), then waits until one is ready.</summary>
    private async Task WarmUpAsync()
    {
        Assert.True(_fixture.Available, _fixture.Problem);
        var cold = await _executor.ExecuteAsync(Shell("cold", "hostname"), new RecordingSink(), CancellationToken.None);
        Assert.Equal(0, cold.ExitCode);
        Assert.True(await Poll.UntilAsync(() => _executor.WarmReadyCount == 1, Deadline), "no pooled container became ready");
    }

    [Fact]
    public async Task Warm_Attempt_RunsInThePooledContainerWithItsOwnEnvironmentExitCodeAndOutput()
    {
        await WarmUpAsync();
        var sink = new RecordingSink();
        var request = Shell("warm", "echo \"$GREETING|$SKIFF_TASK_ID|$SKIFF_ATTEMPT|$(pwd)|$(id -u)|$(hostname)\"; echo out > \"$SKIFF_OUTPUT/r.txt\"; echo oops >&2; exit 3");

        var result = await _executor.ExecuteAsync(request, sink, CancellationToken.None);

        Assert.Equal((ExecutionStatus.Exited, 3), (result.Status, result.ExitCode));
        var line = Assert.Single(sink.Lines(LogStream.Stdout));
        Assert.StartsWith($"it's warm|{request.TaskId}|1|/work|65534|{WarmPool.IdPrefix}", line, StringComparison.Ordinal);
        Assert.Equal(["oops"], sink.Lines(LogStream.Stderr));
        Assert.Equal("out\n", File.ReadAllText(Path.Combine(request.OutputDirectory, "r.txt")));
        Assert.True(result.Usage.CpuMs >= 0 && result.Usage.PeakMemoryBytes > 0, $"usage {result.Usage}");
    }

    [Fact]
    public async Task Warm_UnknownCommand_FailedToStart()
    {
        await WarmUpAsync();

        var result = await _executor.ExecuteAsync(Shell("missing", "unused") with { Command = ["skiff-no-such-command"] }, new RecordingSink(), CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Null(result.ExitCode);
        Assert.Contains("skiff-no-such-command", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warm_Timeout_KillsEverythingTheAttemptStarted()
    {
        await WarmUpAsync();

        var result = await _executor.ExecuteAsync(Shell("slow", "sleep 300 & sleep 300", TimeSpan.FromSeconds(1)), new RecordingSink(), CancellationToken.None);

        Assert.Equal(ExecutionStatus.TimedOut, result.Status);
        Assert.Equal(137, result.ExitCode);
    }

    [Fact]
    public async Task Warm_DaemonLeftBehind_DiesWithTheAttempt()
    {
        await WarmUpAsync();
        var sink = new RecordingSink();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // The command exits at once; the daemon it started closes its output and would sleep on.
        var result = await _executor.ExecuteAsync(Shell("daemon", "(exec >/dev/null 2>&1; sleep 31337) & echo started", TimeSpan.FromSeconds(60)), sink, CancellationToken.None);

        // As in a cold container: when the command ends, tini (pid 1) ends and the kernel kills the rest.
        Assert.Equal((ExecutionStatus.Exited, 0), (result.Status, result.ExitCode));
        Assert.Equal(["started"], sink.Lines(LogStream.Stdout));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the attempt waited {clock.Elapsed} for its daemon");
        Assert.DoesNotContain(Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)),
            process => File.Exists(Path.Combine(process, "cmdline")) && ReadOrEmpty(Path.Combine(process, "cmdline")) == "sleep\031337\0");
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
    }

    [Fact]
    public async Task Warm_DifferentShape_RunsCold()
    {
        await WarmUpAsync();
        var sink = new RecordingSink();

        var result = await _executor.ExecuteAsync(Shell("other", "hostname") with { MemoryMb = 256 }, sink, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("t_other", Assert.Single(sink.Lines(LogStream.Stdout)), StringComparison.Ordinal);
        // The pooled container of the first shape was left for an attempt of that shape.
        var same = new RecordingSink();
        await _executor.ExecuteAsync(Shell("same", "hostname"), same, CancellationToken.None);
        Assert.StartsWith(WarmPool.IdPrefix, Assert.Single(same.Lines(LogStream.Stdout)), StringComparison.Ordinal);
    }
}
