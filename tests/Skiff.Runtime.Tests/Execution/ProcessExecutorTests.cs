using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Execution;

// Real processes: /bin/sh, sleep, /proc. The executor targets Linux hosts.
[SupportedOSPlatform("linux")]
public sealed class ProcessExecutorTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly TempDirectory _root = new();
    private readonly string _work;
    private readonly string _output;
    private readonly RecordingSink _sink = new();

    public ProcessExecutorTests()
    {
        _work = Directory.CreateDirectory(_root.Combine("work")).FullName;
        _output = Directory.CreateDirectory(_root.Combine("out")).FullName;
    }

    public void Dispose() => _root.Dispose();

    /// <param name="sessions">Whether attempts run under setsid (the default when available) or bare.</param>
    private static ProcessExecutor Executor(bool sessions = true) =>
        sessions ? new ProcessExecutor() : new ProcessExecutor(TimeProvider.System, setsidPath: null);

    private ExecutionRequest Request(params string[] command) => new()
    {
        TaskId = "t_test",
        Attempt = 2,
        Command = command,
        WorkDirectory = _work,
        OutputDirectory = _output,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static ExecutionRequest Shell(ExecutionRequest request, string script) => request with { Command = ["sh", "-c", script] };

    private Task<ExecutionResult> RunShellAsync(string script, bool sessions = true, CancellationToken cancellationToken = default) =>
        Executor(sessions).ExecuteAsync(Shell(Request("sh"), script), _sink, cancellationToken);

    [Fact]
    public void Properties_ProcessExecutor_DoesNotIsolate()
    {
        var executor = new ProcessExecutor();

        Assert.Equal("process (no isolation)", executor.Name);
        Assert.False(executor.Isolates);
    }

    [Fact]
    public async Task ExecuteAsync_Echo_CapturesStdoutAndExitsZero()
    {
        var result = await Executor().ExecuteAsync(Request("echo", "hello", "world"), _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.Exited, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Null(result.Error);
        Assert.Equal(["hello world"], _sink.Lines(LogStream.Stdout));
        Assert.Empty(_sink.Lines(LogStream.Stderr));
        Assert.Equal("hello world", result.StdoutTail);
        Assert.NotNull(_sink.StartedAt);
    }

    [Fact]
    public async Task ExecuteAsync_InterleavedStreams_KeepsOrderPerStream()
    {
        var result = await RunShellAsync("i=1; while [ $i -le 300 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Enumerable.Range(1, 300).Select(i => $"out{i}"), _sink.Lines(LogStream.Stdout));
        Assert.Equal(Enumerable.Range(1, 300).Select(i => $"err{i}"), _sink.Lines(LogStream.Stderr));
        Assert.EndsWith("out299\nout300", result.StdoutTail, StringComparison.Ordinal);
        Assert.EndsWith("err299\nerr300", result.StderrTail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ManyLines_TailKeepsOnlyTheLastFewKilobytesFromALineStart()
    {
        var result = await RunShellAsync("i=1; while [ $i -le 2000 ]; do echo line$i; i=$((i+1)); done");

        Assert.Equal(2000, _sink.Lines(LogStream.Stdout).Count);
        Assert.True(result.StdoutTail.Length <= ProcessExecutor.TailChars, $"tail is {result.StdoutTail.Length} chars");
        Assert.True(result.StdoutTail.Length > ProcessExecutor.TailChars - 20, $"tail is {result.StdoutTail.Length} chars");
        Assert.StartsWith("line", result.StdoutTail, StringComparison.Ordinal);
        Assert.EndsWith("line2000", result.StdoutTail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_CarriageReturnLineEndingsAndNoFinalNewline_SplitsCleanly()
    {
        await RunShellAsync(@"printf 'a\r\nb\n\nc'");

        Assert.Equal(["a", "b", "", "c"], _sink.Lines(LogStream.Stdout));
    }

    [Theory]
    [InlineData("exit 0", 0)]
    [InlineData("exit 3", 3)]
    [InlineData("exit 255", 255)]
    [InlineData("kill -TERM $$", 128 + 15)]
    public async Task ExecuteAsync_ExitOrSignal_ReportsExitCode(string script, int expected)
    {
        var result = await RunShellAsync(script);

        Assert.Equal(ExecutionStatus.Exited, result.Status);
        Assert.Equal(expected, result.ExitCode);
    }

    [Fact]
    public async Task ExecuteAsync_Environment_IsCleanAndCarriesTaskVariables()
    {
        // Stand-ins for the server's secrets: they must not reach the task.
        Environment.SetEnvironmentVariable("SKIFF_ADMIN_KEY", "admin-secret");
        Environment.SetEnvironmentVariable("SKIFF_API_KEY", "api-secret");
        try
        {
            var request = Request("env") with { Env = new Dictionary<string, string> { ["GREETING"] = "hello there", ["LANG"] = "en_GB.UTF-8" } };

            var result = await Executor().ExecuteAsync(request, _sink, CancellationToken.None);

            Assert.Equal(0, result.ExitCode);
            var env = _sink.Lines(LogStream.Stdout).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal("hello there", env["GREETING"]);
            Assert.Equal("en_GB.UTF-8", env["LANG"]);
            Assert.Equal(_work, env["HOME"]);
            Assert.Equal(_output, env["SKIFF_OUTPUT"]);
            Assert.Equal("t_test", env["SKIFF_TASK_ID"]);
            Assert.Equal("2", env["SKIFF_ATTEMPT"]);
            Assert.Equal(Environment.GetEnvironmentVariable("PATH"), env["PATH"]);
            Assert.DoesNotContain("SKIFF_ADMIN_KEY", env.Keys);
            Assert.DoesNotContain("SKIFF_API_KEY", env.Keys);
            var unexpected = env.Keys.Where(k => k is not ("PATH" or "HOME" or "LANG" or "GREETING" or "SKIFF_OUTPUT" or "SKIFF_TASK_ID" or "SKIFF_ATTEMPT")
                && !k.StartsWith("DOTNET_ROOT", StringComparison.Ordinal));
            Assert.Empty(unexpected);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SKIFF_ADMIN_KEY", null);
            Environment.SetEnvironmentVariable("SKIFF_API_KEY", null);
        }
    }

    [Fact]
    public async Task ExecuteAsync_TaskEnvOverridingSkiffOutput_KeepsTheRealOutputDirectory()
    {
        var request = Request("sh", "-c", "echo $SKIFF_OUTPUT") with { Env = new Dictionary<string, string> { ["SKIFF_OUTPUT"] = "/elsewhere" } };

        await Executor().ExecuteAsync(request, _sink, CancellationToken.None);

        Assert.Equal([_output], _sink.Lines(LogStream.Stdout));
    }

    [Fact]
    public async Task ExecuteAsync_WritesToSkiffOutputAndWorkDirectory_FilesLandThere()
    {
        var result = await RunShellAsync("echo artifact > \"$SKIFF_OUTPUT/result.txt\" && echo scratch > here.txt && pwd");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("artifact\n", await File.ReadAllTextAsync(Path.Combine(_output, "result.txt")));
        Assert.True(File.Exists(Path.Combine(_work, "here.txt")));
        Assert.Equal([_work], _sink.Lines(LogStream.Stdout));
    }

    [Fact]
    public async Task ExecuteAsync_LongLine_TruncatedToLimitAndNextLineIntact()
    {
        var result = await RunShellAsync("head -c 200000 /dev/zero | tr '\\000' x; echo; echo after");

        Assert.Equal(0, result.ExitCode);
        var lines = _sink.Lines(LogStream.Stdout);
        Assert.Equal(2, lines.Count);
        Assert.Equal(ProcessExecutor.MaxLineBytes, lines[0].Length);
        Assert.All(lines[0], c => Assert.Equal('x', c));
        Assert.Equal("after", lines[1]);
    }

    [Fact]
    public async Task ExecuteAsync_LongLineOfMultibyteCharacters_TruncatedOnACharacterBoundary()
    {
        // "éa" is three bytes and 65536 = 3k + 1, so the cut falls just after the first byte of an 'é'.
        await RunShellAsync("i=0; while [ $i -lt 40000 ]; do printf 'éa'; i=$((i+1)); done; echo");

        var line = Assert.Single(_sink.Lines(LogStream.Stdout));
        Assert.DoesNotContain('\uFFFD', line);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(line) <= ProcessExecutor.MaxLineBytes);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(line) >= ProcessExecutor.MaxLineBytes - 3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ExecuteAsync_Timeout_KillsProcessTreeAndReportsTimedOut(bool sessions)
    {
        var request = Shell(Request("sh"), "sleep 100 & echo $!; sleep 100") with { Timeout = TimeSpan.FromSeconds(1) };
        var stopwatch = Stopwatch.StartNew();

        var result = await Executor(sessions).ExecuteAsync(request, _sink, CancellationToken.None);

        stopwatch.Stop();
        Assert.Equal(ExecutionStatus.TimedOut, result.Status);
        Assert.Equal("timed out after 1s", result.Error);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(6));
        Assert.InRange(result.Usage.WallMs, 1000, 6000);
        var grandchild = int.Parse(Assert.Single(_sink.Lines(LogStream.Stdout)), CultureInfo.InvariantCulture);
        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(grandchild), Deadline), $"grandchild {grandchild} survived");
    }

    [Fact]
    public async Task ExecuteAsync_TimeoutWithOrphanedGrandchild_KillsTheOrphanToo()
    {
        // Regression: the subshell exits at once, so its `sleep` is reparented away from the root and a
        // walk of the root's children no longer finds it; only the process group reaches it.
        var request = Shell(Request("sh"), "(sleep 100 & echo $!); sleep 100") with { Timeout = TimeSpan.FromSeconds(1) };

        var result = await Executor(sessions: true).ExecuteAsync(request, _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.TimedOut, result.Status);
        var orphan = int.Parse(Assert.Single(_sink.Lines(LogStream.Stdout)), CultureInfo.InvariantCulture);
        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(orphan), Deadline), $"orphan {orphan} survived");
    }

    [Fact]
    public async Task ExecuteAsync_ExitLeavingBackgroundChild_ReturnsPromptlyAndKillsIt()
    {
        // The background sleep holds stdout open: waiting for end of stream would hang for 100 s.
        var stopwatch = Stopwatch.StartNew();

        var result = await RunShellAsync("sleep 100 & echo $!");

        Assert.Equal(ExecutionStatus.Exited, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(6));
        var child = int.Parse(Assert.Single(_sink.Lines(LogStream.Stdout)), CultureInfo.InvariantCulture);
        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(child), Deadline), $"child {child} survived");
    }

    [Fact]
    public async Task ExecuteAsync_ExitLeavingBackgroundChildWithoutSessions_StillReturnsPromptly()
    {
        // Without setsid a child orphaned before the first sample is out of reach (a documented gap of the
        // fallback), but it must not hang the executor by holding the pipe open.
        var child = 0;
        try
        {
            var stopwatch = Stopwatch.StartNew();

            var result = await RunShellAsync("sleep 30 & echo $!", sessions: false);

            Assert.Equal(ExecutionStatus.Exited, result.Status);
            Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));
            child = int.Parse(Assert.Single(_sink.Lines(LogStream.Stdout)), CultureInfo.InvariantCulture);
        }
        finally
        {
            KillIfAlive(child);
        }
    }

    [Fact]
    public async Task ExecuteAsync_EscapedProcessHoldsPipeOpen_StopsReadingWithinBound()
    {
        // A process that starts its own session escapes every kill; it must not hang the executor.
        var pid = 0;
        try
        {
            var stopwatch = Stopwatch.StartNew();

            var result = await RunShellAsync("(setsid sleep 30 & echo $!); echo done");

            Assert.Equal(ExecutionStatus.Exited, result.Status);
            Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));
            var lines = _sink.Lines(LogStream.Stdout);
            pid = int.Parse(lines[0], CultureInfo.InvariantCulture);
            Assert.Equal("done", lines[1]);
        }
        finally
        {
            KillIfAlive(pid);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ExecuteAsync_Cancelled_KillsTreeAndReportsCancelled(bool sessions)
    {
        using var cancellation = new CancellationTokenSource();
        var running = RunShellAsync("sleep 100 & echo $!; wait", sessions, cancellation.Token);
        Assert.True(await Poll.UntilAsync(() => _sink.Lines(LogStream.Stdout).Count == 1, Deadline), "the task never printed its child's pid");
        var child = int.Parse(_sink.Lines(LogStream.Stdout)[0], CultureInfo.InvariantCulture);
        var stopwatch = Stopwatch.StartNew();

        await cancellation.CancelAsync();
        var result = await running;

        Assert.Equal(ExecutionStatus.Cancelled, result.Status);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(child), Deadline), $"child {child} survived");
    }

    [Fact]
    public async Task KillLeftovers_AttemptOfAPreviousServer_KillsItsProcessGroupAndRemovesTheRecord()
    {
        // Regression: after kill -9 of the server, task processes kept running while the restarted server ran
        // the recovered task again. A second executor on the same record directory stands for the new server.
        var records = _root.Combine("records");
        var crashed = new ProcessExecutor { RecordDirectory = records };
        var running = crashed.ExecuteAsync(Shell(Request("sh"), "sleep 100 & echo $!; wait"), _sink, CancellationToken.None);
        Assert.True(await Poll.UntilAsync(() => _sink.Lines(LogStream.Stdout).Count == 1, Deadline), "the task never printed its child's pid");
        var child = int.Parse(_sink.Lines(LogStream.Stdout)[0], CultureInfo.InvariantCulture);
        Assert.Single(Directory.GetFiles(records, "*.pid"));

        var killed = new ProcessExecutor { RecordDirectory = records }.KillLeftovers();

        Assert.Equal(1, killed);
        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(child), Deadline), $"child {child} survived");
        var result = await running.WaitAsync(Deadline);
        Assert.Equal(137, result.ExitCode);
        Assert.Empty(Directory.GetFiles(records, "*.pid"));
    }

    [Fact]
    public async Task ExecuteAsync_WithRecordDirectory_RecordRemovedWhenTheAttemptEnds()
    {
        var records = _root.Combine("records");

        var result = await new ProcessExecutor { RecordDirectory = records }.ExecuteAsync(Request("true"), _sink, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(Directory.GetFiles(records, "*.pid"));
        Assert.Equal(0, new ProcessExecutor { RecordDirectory = records }.KillLeftovers());
    }

    [Fact]
    public async Task ExecuteAsync_AlreadyCancelled_DoesNotStart()
    {
        var result = await Executor().ExecuteAsync(Request("echo", "never"), _sink, new CancellationToken(canceled: true));

        Assert.Equal(ExecutionStatus.Cancelled, result.Status);
        Assert.Null(_sink.StartedAt);
        Assert.Empty(_sink.Lines(LogStream.Stdout));
    }

    [Fact]
    public async Task ExecuteAsync_CommandNotFound_FailedToStartWithoutThrowing()
    {
        var result = await Executor().ExecuteAsync(Request("skiff-no-such-command", "x"), _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Equal("command not found: skiff-no-such-command", result.Error);
        Assert.Null(result.ExitCode);
        Assert.Null(_sink.StartedAt);
    }

    [Fact]
    public async Task ExecuteAsync_RelativePathNotExecutable_FailedToStart()
    {
        await File.WriteAllTextAsync(Path.Combine(_work, "script.sh"), "#!/bin/sh\necho hi\n");

        var result = await Executor().ExecuteAsync(Request("./script.sh"), _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Equal("command not executable: ./script.sh", result.Error);
    }

    [Fact]
    public async Task ExecuteAsync_RelativePathExecutable_ResolvedAgainstWorkDirectory()
    {
        var script = Path.Combine(_work, "script.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho \"hi $1\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var result = await Executor().ExecuteAsync(Request("./script.sh", "there"), _sink, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["hi there"], _sink.Lines(LogStream.Stdout));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ExecuteAsync_ScriptWithMissingInterpreter_FailedToStart(bool sessions)
    {
        var script = Path.Combine(_work, "broken.sh");
        await File.WriteAllTextAsync(script, "#!/skiff/no/such/interpreter\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var result = await Executor(sessions).ExecuteAsync(Request(script), _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Contains("cannot start", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_MissingWorkDirectory_FailedToStart()
    {
        var request = Request("echo") with { WorkDirectory = _root.Combine("missing") };

        var result = await Executor().ExecuteAsync(request, _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.StartsWith("work directory does not exist", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_EmptyCommand_FailedToStart()
    {
        var result = await Executor().ExecuteAsync(Request(), _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Equal("empty command", result.Error);
    }

    [Fact]
    public async Task ExecuteAsync_Sessions_RootLeadsItsOwnProcessGroup()
    {
        var result = await RunShellAsync("echo $$; cut -d' ' -f5 /proc/$$/stat");

        Assert.Equal(0, result.ExitCode);
        var lines = _sink.Lines(LogStream.Stdout);
        Assert.Equal(lines[0], lines[1]);
    }

    [Fact]
    public async Task ExecuteAsync_Sleep_WallTimeAndMemoryPlausible()
    {
        var result = await Executor().ExecuteAsync(Request("sleep", "1"), _sink, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.InRange(result.Usage.WallMs, 1000, 5000);
        Assert.InRange(result.Usage.PeakMemoryBytes, 1, 1L << 30);
    }

    [Fact]
    public async Task ExecuteAsync_BusyLoop_CpuTimeSampled()
    {
        var result = await RunShellAsync("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");

        Assert.Equal(0, result.ExitCode);
        Assert.InRange(result.Usage.CpuMs, 200, result.Usage.WallMs * Environment.ProcessorCount + 100);
    }

    [Fact]
    public async Task ExecuteAsync_SinkThrows_KillsProcessAndPropagates()
    {
        var sink = new ThrowingSink();
        var request = Shell(Request("sh"), "echo $$; sleep 100");

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => Executor().ExecuteAsync(request, sink, CancellationToken.None));

        Assert.Equal("sink broke", thrown.Message);
        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(sink.FirstLinePid), Deadline), "the task outlived its sink");
    }

    // The fallback where posix_spawn cannot start a session (old glibc or kernel): Process with setsid(1).
    private static ProcessExecutor SetsidFallback(string? recordDirectory = null)
    {
        var setsid = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "/bin/setsid";
        var executor = new ProcessExecutor(TimeProvider.System, setsid) { RecordDirectory = recordDirectory };
        Assert.False(executor.UsesSpawn);
        return executor;
    }

    [Fact]
    public async Task ExecuteAsync_SetsidFallback_CapturesOutputAndExitCode()
    {
        var result = await SetsidFallback().ExecuteAsync(Shell(Request("sh"), "echo out; echo err >&2; exit 3"), _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.Exited, result.Status);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal(["out"], _sink.Lines(LogStream.Stdout));
        Assert.Equal(["err"], _sink.Lines(LogStream.Stderr));
    }

    [Fact]
    public async Task ExecuteAsync_SetsidFallbackTimeoutWithOrphanedGrandchild_KillsTheOrphanToo()
    {
        var request = Shell(Request("sh"), "(sleep 100 & echo $!); sleep 100") with { Timeout = TimeSpan.FromSeconds(1) };

        var result = await SetsidFallback().ExecuteAsync(request, _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.TimedOut, result.Status);
        var orphan = int.Parse(Assert.Single(_sink.Lines(LogStream.Stdout)), CultureInfo.InvariantCulture);
        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(orphan), Deadline), $"orphan {orphan} survived");
    }

    [Fact]
    public async Task ExecuteAsync_SetsidFallbackScriptWithMissingInterpreter_FailedToStartFromSetsidsMessage()
    {
        var script = Path.Combine(_work, "broken.sh");
        await File.WriteAllTextAsync(script, "#!/skiff/no/such/interpreter\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var result = await SetsidFallback().ExecuteAsync(Request(script), _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.FailedToStart, result.Status);
        Assert.Null(result.ExitCode);
        Assert.StartsWith("cannot start", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillLeftovers_SetsidFallbackAttemptOfAPreviousServer_KillsItsProcessGroup()
    {
        var records = _root.Combine("records");
        var crashed = SetsidFallback(records);
        var running = crashed.ExecuteAsync(Shell(Request("sh"), "sleep 100 & echo $!; wait"), _sink, CancellationToken.None);
        Assert.True(await Poll.UntilAsync(() => _sink.Lines(LogStream.Stdout).Count == 1, Deadline), "the task never printed its child's pid");
        var child = int.Parse(_sink.Lines(LogStream.Stdout)[0], CultureInfo.InvariantCulture);

        Assert.Equal(1, new ProcessExecutor { RecordDirectory = records }.KillLeftovers());

        Assert.True(await Poll.UntilAsync(() => !ProcessTree.IsAlive(child), Deadline), $"child {child} survived");
        Assert.Equal(137, (await running.WaitAsync(Deadline)).ExitCode);
    }

    [Fact]
    public async Task ExecuteAsync_ManyAttemptsWithRecords_EachRecordRemovedAndSparesNotMistakenForRecords()
    {
        // Records are renamed to spares and reused instead of deleted; a spare must never count as a record.
        var records = _root.Combine("records");
        var executor = new ProcessExecutor { RecordDirectory = records };

        for (var i = 0; i < 5; i++)
        {
            var result = await executor.ExecuteAsync(Request("true") with { Attempt = i + 1 }, _sink, CancellationToken.None);
            Assert.Equal(0, result.ExitCode);
        }
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => executor.ExecuteAsync(Request("true") with { TaskId = $"t_{i}" }, _sink, CancellationToken.None)));

        Assert.Empty(Directory.GetFiles(records, "*.pid"));
        Assert.NotEmpty(Directory.GetFiles(records, "*.spare"));
        Assert.Equal(0, new ProcessExecutor { RecordDirectory = records }.KillLeftovers());
        Assert.Empty(Directory.GetFiles(records));
    }

    private static void KillIfAlive(int pid)
    {
        if (pid > 0 && ProcessTree.IsAlive(pid))
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
    }

    private sealed class ThrowingSink : IExecutionSink
    {
        public int FirstLinePid { get; private set; }

        public ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken)
        {
            FirstLinePid = int.Parse(line, CultureInfo.InvariantCulture);
            throw new InvalidOperationException("sink broke");
        }

        public void Started(DateTimeOffset at)
        {
        }
    }
}
