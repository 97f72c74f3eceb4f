using System.Runtime.Versioning;
using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Execution;

/// <summary>The posix_spawn path of the process executor: its error cases and what a spawned task inherits.</summary>
[SupportedOSPlatform("linux")]
public sealed class SpawnedProcessTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private static readonly Dictionary<string, string> Environment = new() { ["PATH"] = "/usr/bin:/bin" };

    private readonly TempDirectory _root = new();
    private readonly RecordingSink _sink = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void IsSupported_ThisHost_DefaultExecutorSpawns()
    {
        // Guards the fast path: glibc 2.29+ and Linux 5.3+ (every supported host) must not fall back to setsid(1).
        Assert.True(SpawnedProcess.IsSupported);
        Assert.True(new ProcessExecutor().UsesSpawn);
        Assert.True(new ProcessExecutor().UsesSessions);
    }

    [Fact]
    public void Start_ExecutableMissing_NullWithTheReason()
    {
        var process = SpawnedProcess.Start(_root.Combine("missing"), ["missing"], Environment, _root.Path, out var error);

        Assert.Null(process);
        Assert.Equal("No such file or directory", error);
    }

    [Fact]
    public void Start_FileNotExecutable_NullWithTheReason()
    {
        var file = _root.Combine("data.txt");
        File.WriteAllText(file, "not a program\n");

        var process = SpawnedProcess.Start(file, [file], Environment, _root.Path, out var error);

        Assert.Null(process);
        Assert.Equal("Permission denied", error);
    }

    [Fact]
    public void Start_WorkDirectoryMissing_NullWithTheReason()
    {
        var process = SpawnedProcess.Start("/bin/true", ["true"], Environment, _root.Combine("gone"), out var error);

        Assert.Null(process);
        Assert.Equal("No such file or directory", error);
    }

    [Fact]
    public void Start_ScriptWithMissingInterpreter_NullWithTheReason()
    {
        var script = _root.Combine("broken.sh");
        File.WriteAllText(script, "#!/skiff/no/such/interpreter\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        var process = SpawnedProcess.Start(script, [script], Environment, _root.Path, out var error);

        Assert.Null(process);
        Assert.Equal("No such file or directory", error);
    }

    [Fact]
    public async Task Start_Sh_RunsInItsOwnSessionWithStdinFromDevNullAndNoSignalBlockedOrIgnored()
    {
        // Regression guard for what posix_spawn is asked to set up: setsid, stdin on /dev/null, no blocked or
        // ignored signal (the server ignores SIGPIPE), and the working directory.
        var script = "cut -d' ' -f6 /proc/$$/stat; echo $$; readlink /proc/$$/fd/0; grep -E '^Sig(Blk|Ign)' /proc/$$/status | tr -s '\\t' ' '; pwd";
        var lines = await RunAsync("/bin/sh", "sh", "-c", script);

        Assert.Equal(lines[1], lines[0]); // session id == pid
        Assert.Equal("/dev/null", lines[2]);
        Assert.Equal("SigBlk: 0000000000000000", lines[3]);
        // glibc's posix_spawn (2.36) leaves its two internal signals, 32 and 33 (below SIGRTMIN, which no glibc
        // program can handle), ignored in the child, whoever calls it; every other signal must be at its default.
        var ignored = Convert.ToUInt64(lines[4]["SigIgn: ".Length..], 16);
        Assert.Equal(0UL, ignored & ~0x1_8000_0000UL);
        Assert.Equal(_root.Path, lines[5]);
    }

    [Fact]
    public async Task Start_Ls_InheritsOnlyTheThreeStandardDescriptors()
    {
        // Regression guard: a descriptor of the server reaching a task (the pipe of an attempt started at the same
        // moment, or one the server's parent passed down) could keep a pipe from ever reaching end of file.
        // 3 is ls's own listing of the directory.
        var lines = await RunAsync("/bin/ls", "ls", "/proc/self/fd");

        Assert.Equal(["0", "1", "2", "3"], lines);
    }

    private async Task<string[]> RunAsync(string executable, params string[] argv)
    {
        using var process = SpawnedProcess.Start(executable, argv, Environment, _root.Path, out var error);
        Assert.True(process is not null, error);
        using var stdout = new StreamReader(process.Stdout);
        var lines = (await stdout.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await process.WaitForExitAsync(CancellationToken.None).WaitAsync(Deadline);
        process.Reap();
        Assert.Equal(0, process.ExitCode);
        return lines;
    }

    [Fact]
    public async Task ExecuteAsync_PipeIntoHead_WriterEndsBySigpipe()
    {
        // Regression: an ignored SIGPIPE would survive exec and `yes` would spin on EPIPE until the timeout.
        var work = Directory.CreateDirectory(_root.Combine("work")).FullName;
        var request = new ExecutionRequest
        {
            TaskId = "t_pipe",
            Attempt = 1,
            Command = ["sh", "-c", "yes | head -n 2"],
            WorkDirectory = work,
            OutputDirectory = work,
            Timeout = TimeSpan.FromSeconds(5),
        };

        var result = await new ProcessExecutor().ExecuteAsync(request, _sink, CancellationToken.None);

        Assert.Equal(ExecutionStatus.Exited, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["y", "y"], _sink.Lines(LogStream.Stdout));
    }

    [Fact]
    public async Task Dispose_BeforeTheProcessExited_ItIsReapedWhenItExits()
    {
        // An attempt stuck after its kill is abandoned after a bound; it must not stay a zombie of the server.
        var process = SpawnedProcess.Start("/bin/sleep", ["sleep", "0.3"], Environment, _root.Path, out _);
        Assert.NotNull(process);
        var pid = process.Id;

        process.Dispose();

        Assert.True(await Poll.UntilAsync(() => !File.Exists($"/proc/{pid}/stat"), Deadline), $"process {pid} was never reaped");
    }
}
