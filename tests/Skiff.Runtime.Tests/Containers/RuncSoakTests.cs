using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Skiff.Core.Tasks;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Tests.Execution;
using Skiff.Testing;
using Xunit.Abstractions;

namespace Skiff.Runtime.Tests.Containers;

// The isolation requirement "after 500 tasks mixing success, failure, timeout, cancel and OOM, no container,
// cgroup, mount or process of Skiff remains beyond the running ones", against the real executor.
// Other test assemblies may run runc at the same time under the same /skiff parent, so the host-wide checks
// (cgroups, mounts, processes) look only for this run's container ids and directories. The fixture's state and
// bundle directories belong to this collection, which runs one test at a time, so they must be empty.
[Collection(RuncCollection.Name)]
public sealed partial class RuncSoakTests : IDisposable
{
    private const int Attempts = 500;
    private const int Concurrency = 8;
    private const int OomMemoryMb = 32;
    // A string doubled until the OOM killer ends awk, which fails the script. RuncExecutorTests' bomb (a shell
    // variable filled through a pipe) is the same kill but grows slowly: 3 s at 32 MiB alone, 10 s under this load.
    private const string MemoryBomb = "awk 'BEGIN { s = \"a\"; while (1) s = s s }' && echo survived";
    private const string Sleeper = "echo started; sleep 30";

    private static readonly TimeSpan TaskTimeout = TimeSpan.FromSeconds(1);
    // Counted from the call. Half the cancels land while the task sleeps, half while runc is still creating the
    // container (or before it is started at all), where a kill races runc's own set-up.
    private static readonly TimeSpan CancelWhileRunning = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan CancelWhileCreating = TimeSpan.FromMilliseconds(30);
    // Far beyond the slowest attempt (a timeout and its kill); an attempt still running then is a hang.
    private static readonly TimeSpan AttemptDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    // How long the host's init may take to reap a zombie handed to it (this VM's init reaps in about 2 s).
    private static readonly TimeSpan ReapDeadline = TimeSpan.FromSeconds(10);

    private readonly RuncFixture _fixture;
    private readonly ITestOutputHelper _log;
    private readonly TempDirectory _root = new();
    // Every container id of this test starts with it (ids are TaskId-Attempt), and nothing else on the host does.
    private readonly string _prefix = "soak_" + Guid.NewGuid().ToString("N")[..12] + "_";

    public RuncSoakTests(RuncFixture fixture, ITestOutputHelper log)
    {
        _fixture = fixture;
        _log = log;
    }

    public void Dispose() => _root.Dispose();

    private enum Kind
    {
        Success,
        Failure,
        Timeout,
        Cancel,
        Oom,
    }

    private sealed record Outcome(
        Kind Kind, string Name, string ContainerId, ExecutionResult? Result, Exception? Exception, IReadOnlyList<string> Stdout, TimeSpan Elapsed);

    private sealed record Leftovers(
        IReadOnlyList<string> Containers,
        IReadOnlyList<string> Cgroups,
        IReadOnlyList<string> Bundles,
        IReadOnlyList<string> Mounts,
        IReadOnlyList<ProcessSighting> Processes);

    /// <summary>A process of this test's: in one of its containers' cgroups, or naming one of them on its command line.</summary>
    private sealed record ProcessSighting(int Pid, int ParentPid, string Name, bool Zombie, IReadOnlyList<string> Cgroups, string CommandLine)
    {
        public string Description =>
            $"pid {Pid} ({Name}, {(Zombie ? "zombie" : "child")} of pid {ParentPid})"
            + (Cgroups.Count > 0 ? $" in cgroups {string.Join(", ", Cgroups)}" : "")
            + (CommandLine.Length > 0 ? $" running '{CommandLine}'" : "");
    }

    [Fact]
    public async Task ExecuteAsync_500MixedAttempts_LeaveNoContainerCgroupMountOrProcess()
    {
        Assert.True(_fixture.Available, _fixture.Problem);
        await AssertDetectorsSeeARunningContainerAsync();

        var outcomes = new Outcome[Attempts];
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, Attempts),
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency },
            async (index, _) => outcomes[index] = await RunAttemptAsync(index, (Kind)(index % 5)));
        clock.Stop();
        var leftovers = await FindLeftoversAsync();
        var processes = await AwaitReapingAsync(leftovers.Processes);

        _log.WriteLine($"{Attempts} attempts, {Concurrency} at a time, in {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var group in outcomes.GroupBy(o => (o.Kind, o.Result?.Status, o.Result?.ExitCode)).OrderBy(g => g.Key.Kind))
        {
            _log.WriteLine($"{group.Key.Kind}: {group.Count()} x {group.Key.Status?.ToString() ?? "threw"} (exit {group.Key.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}), "
                + $"{group.Average(o => o.Elapsed.TotalMilliseconds):F0} ms on average, {group.Max(o => o.Elapsed.TotalMilliseconds):F0} ms at most");
        }
        var cancelledBeforeStarted = outcomes.Count(o => o.Kind == Kind.Cancel && o.Stdout.Count == 0);
        var timedOutBeforeStarted = outcomes.Count(o => o.Kind == Kind.Timeout && o.Stdout.Count == 0);
        _log.WriteLine($"cancelled before the command printed: {cancelledBeforeStarted}; timed out before it printed: {timedOutBeforeStarted}");

        // One report naming everything at once: a leak of one kind often explains another.
        var report = Describe("attempts ended other than expected", [.. outcomes.Select(Mismatch).OfType<string>()])
            + Describe("runc containers left in the state root", leftovers.Containers)
            + Describe("cgroups left", leftovers.Cgroups)
            + Describe("bundles left", leftovers.Bundles)
            + Describe("mounts left in the host's mount namespace", leftovers.Mounts)
            + Describe("processes left", [.. processes.Select(p => p.Description)]);
        Assert.True(report.Length == 0, report);
    }

    /// <summary>
    /// Runs the leftover detectors while a container of this test runs: each must find it, or their finding
    /// nothing after the soak would prove nothing. Its mounts live in its own mount namespace, so the mount
    /// detector is pointed at the mountinfo of the container's processes rather than the host's.
    /// </summary>
    private async Task AssertDetectorsSeeARunningContainerAsync()
    {
        var request = Request("probe", Sleeper);
        var containerId = RuncExecutor.ContainerId(request);
        var sink = new RecordingSink();
        using var stop = new CancellationTokenSource();
        var running = _fixture.Executor.ExecuteAsync(request, sink, stop.Token);
        try
        {
            Assert.True(await Poll.UntilAsync(() => sink.Lines(LogStream.Stdout).Count > 0, Deadline), "the probe container never started");

            var seen = await FindLeftoversAsync();

            Assert.Contains(containerId, seen.Containers);
            Assert.Contains(seen.Cgroups, directory => Path.GetFileName(directory) == containerId);
            Assert.Contains(Path.Combine(_fixture.Options.BundlesDirectory, containerId), seen.Bundles);
            // The container's processes by their cgroup, runc run by its command line.
            var cgroupLine = $":/skiff/{containerId}";
            var inContainer = Assert.Single(seen.Processes, p => p is { Name: "tini", Zombie: false }
                && p.Cgroups.Any(line => line.EndsWith(cgroupLine, StringComparison.Ordinal)));
            Assert.Contains(seen.Processes, p => p is { Name: "sleep", Zombie: false }
                && p.Cgroups.Any(line => line.EndsWith(cgroupLine, StringComparison.Ordinal)));
            Assert.Contains(seen.Processes, p => p is { Name: "runc", Zombie: false }
                && p.CommandLine.StartsWith(_fixture.Options.RuncPath + " ", StringComparison.Ordinal)
                && p.CommandLine.EndsWith(" run --keep --bundle " + Path.Combine(_fixture.Options.BundlesDirectory, containerId) + " " + containerId, StringComparison.Ordinal));
            var containerMounts = MountsOf(Path.Combine("/proc", inContainer.Pid.ToString(CultureInfo.InvariantCulture), "mountinfo"));
            // The image's root (under the fixture's directory) and the attempt's /work and /output (under this test's).
            Assert.Contains(containerMounts, mount => mount.Contains(Path.GetFileName(FixtureRoot), StringComparison.Ordinal));
            Assert.Contains(containerMounts, mount => mount.Contains(Path.GetFileName(_root.Path), StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
        }
        Assert.Equal(ExecutionStatus.Cancelled, (await running.WaitAsync(Deadline)).Status);
    }

    private async Task<Outcome> RunAttemptAsync(int index, Kind kind)
    {
        var name = index.ToString("D3", CultureInfo.InvariantCulture);
        var request = kind switch
        {
            Kind.Success => Request(name, $"echo ok {name}"),
            Kind.Failure => Request(name, "echo failing >&2; exit 3"),
            Kind.Timeout => Request(name, Sleeper) with { Timeout = TaskTimeout },
            Kind.Cancel => Request(name, Sleeper),
            Kind.Oom => Request(name, MemoryBomb) with { MemoryMb = OomMemoryMb },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var containerId = RuncExecutor.ContainerId(request);
        var sink = new RecordingSink();
        using var cancel = new CancellationTokenSource();
        if (kind == Kind.Cancel)
        {
            cancel.CancelAfter(index / 5 % 2 == 0 ? CancelWhileRunning : CancelWhileCreating);
        }
        var clock = Stopwatch.StartNew();
        try
        {
            var result = await _fixture.Executor.ExecuteAsync(request, sink, cancel.Token).WaitAsync(AttemptDeadline);
            return new Outcome(kind, name, containerId, result, null, sink.Lines(LogStream.Stdout), clock.Elapsed);
        }
        catch (Exception e)
        {
            // The executor must not throw for a task's own failures; recorded so every attempt is reported at once.
            return new Outcome(kind, name, containerId, null, e, sink.Lines(LogStream.Stdout), clock.Elapsed);
        }
    }

    private ExecutionRequest Request(string name, string script) => new()
    {
        TaskId = _prefix + name,
        Attempt = 1,
        Command = ["sh", "-c", script],
        WorkDirectory = Directory.CreateDirectory(_root.Combine(name, "work")).FullName,
        OutputDirectory = Directory.CreateDirectory(_root.Combine(name, "out")).FullName,
        Timeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>What is wrong with the attempt's outcome, or null when it ended as its kind must.</summary>
    private static string? Mismatch(Outcome outcome)
    {
        if (outcome.Result is not { } result)
        {
            return $"{outcome.ContainerId} ({outcome.Kind}) threw {outcome.Exception}";
        }
        var expected = outcome.Kind switch
        {
            Kind.Success => result is { Status: ExecutionStatus.Exited, ExitCode: 0 }
                && outcome.Stdout.SequenceEqual(["ok " + outcome.Name]),
            Kind.Failure => result is { Status: ExecutionStatus.Exited, ExitCode: 3 },
            Kind.Timeout => result.Status == ExecutionStatus.TimedOut,
            Kind.Cancel => result.Status == ExecutionStatus.Cancelled,
            Kind.Oom => result.Status == ExecutionStatus.OomKilled && !outcome.Stdout.Contains("survived"),
            _ => false,
        };
        return expected ? null
            : $"{outcome.ContainerId} ({outcome.Kind}): {result.Status} exit {result.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"} "
                + $"error '{result.Error}' stdout [{string.Join(" | ", outcome.Stdout)}] stderr '{result.StderrTail}'";
    }

    private static string Describe(string what, IReadOnlyCollection<string> found) =>
        found.Count == 0 ? "" : $"{found.Count} {what}:\n  {string.Join("\n  ", found.Take(50))}{(found.Count > 50 ? "\n  ..." : "")}\n";

    /// <summary>The fixture's own directory: the executor's state root and the images are inside it.</summary>
    private string FixtureRoot => Path.GetDirectoryName(_fixture.Options.StateRoot)!;

    private async Task<Leftovers> FindLeftoversAsync()
    {
        var options = _fixture.Options;
        var runc = new RuncCli(options.RuncPath, options.RuncStateDirectory);
        var listed = await runc.RunAsync(["list", "-q"]);
        Assert.True(listed.ExitCode == 0, $"runc list failed ({listed.ExitCode}): {listed.Stderr}");
        // runc list skips a container whose state it cannot load; its directory still counts.
        var containers = listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(Entries(options.RuncStateDirectory).Select(Path.GetFileName).OfType<string>())
            .Distinct(StringComparer.Ordinal)
            .ToList();

        return new Leftovers(
            containers,
            CgroupsOfThisTest(),
            Entries(options.BundlesDirectory),
            MountsOf("/proc/self/mountinfo"),
            ProcessesOfThisTest());
    }

    private static List<string> Entries(string directory) =>
        Directory.Exists(directory) ? [.. Directory.EnumerateFileSystemEntries(directory)] : [];

    /// <summary>
    /// Cgroups named after this test's containers anywhere in any mounted hierarchy (v1 controllers, the named
    /// systemd one, the unified one), so one created outside /skiff counts too.
    /// </summary>
    private List<string> CgroupsOfThisTest()
    {
        var found = new List<string>();
        var hierarchies = ReadMountInfo("/proc/self/mountinfo")
            .Where(mount => mount.FsType is "cgroup" or "cgroup2")
            .Select(mount => mount.MountPoint)
            .Distinct(StringComparer.Ordinal);
        foreach (var hierarchy in hierarchies)
        {
            FindDirectories(hierarchy, _prefix, found);
        }
        return found;
    }

    private static void FindDirectories(string directory, string namePrefix, List<string> found)
    {
        string[] children;
        try
        {
            children = Directory.GetDirectories(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Removed while walking (another test's container ended).
            return;
        }
        foreach (var child in children)
        {
            if (Path.GetFileName(child).StartsWith(namePrefix, StringComparison.Ordinal))
            {
                found.Add(child);
            }
            FindDirectories(child, namePrefix, found);
        }
    }

    /// <summary>
    /// Mounts whose source or mount point lies under the fixture's directory (state, bundles, images) or this
    /// test's (work, output), or names one of its containers. Matched by the directories' unique names rather
    /// than full paths because a bind mount's source is shown relative to its own file system.
    /// </summary>
    private List<string> MountsOf(string mountInfo)
    {
        string[] needles = [Path.GetFileName(FixtureRoot), Path.GetFileName(_root.Path), _prefix];
        return [.. ReadMountInfo(mountInfo)
            .Where(mount => needles.Any(needle => mount.Root.Contains(needle, StringComparison.Ordinal)
                || mount.MountPoint.Contains(needle, StringComparison.Ordinal)))
            .Select(mount => mount.Line)];
    }

    /// <summary>
    /// Processes in a cgroup of this test's containers (tini, the task and its children) or whose command line
    /// names one of them (runc run, kill, delete), zombies included. Processes that exit while being looked at
    /// are skipped.
    /// </summary>
    private List<ProcessSighting> ProcessesOfThisTest()
    {
        var found = new List<ProcessSighting>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string stat, cgroups, commandLine;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
                cgroups = File.ReadAllText(Path.Combine(directory, "cgroup"));
                commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ').Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            // "pid (comm) state ppid ...", where comm may itself hold spaces and parentheses.
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            var name = stat[(open + 1)..close];
            var zombie = fields[0] == "Z";
            var parent = int.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture);
            var ours = cgroups.Split('\n').Where(line => line.Contains(_prefix, StringComparison.Ordinal)).ToList();
            if (ours.Count > 0 || commandLine.Contains(_prefix, StringComparison.Ordinal))
            {
                found.Add(new ProcessSighting(pid, parent, name, zombie, ours, commandLine.Contains(_prefix, StringComparison.Ordinal) ? commandLine : ""));
            }
        }
        return found;
    }

    /// <summary>
    /// The processes that count as left behind. When a kill lands while runc is still creating the container,
    /// runc run exits without reaping the init it SIGKILLed; that zombie goes to the host's init, which alone can
    /// reap it. Dead, out of every v1 cgroup and holding no mount, such a zombie counts only if it is still there
    /// after <see cref="ReapDeadline"/>. A live process, or a zombie this process should have reaped, counts at once.
    /// </summary>
    private async Task<IReadOnlyList<ProcessSighting>> AwaitReapingAsync(IReadOnlyList<ProcessSighting> seen)
    {
        var handedOver = seen.Where(p => p.Zombie && p.ParentPid != Environment.ProcessId).Select(p => p.Pid).ToHashSet();
        if (handedOver.Count == 0)
        {
            return seen;
        }
        var clock = Stopwatch.StartNew();
        var reaped = await Poll.UntilAsync(() => !ProcessesOfThisTest().Any(p => handedOver.Contains(p.Pid)), ReapDeadline);
        _log.WriteLine($"{handedOver.Count} zombie(s) of runc handed to the host's init were {(reaped ? "reaped" : "still there")} after {clock.ElapsedMilliseconds} ms: "
            + string.Join("; ", seen.Where(p => handedOver.Contains(p.Pid)).Select(p => p.Description)));
        return [.. seen.Where(p => !handedOver.Contains(p.Pid)), .. ProcessesOfThisTest().Where(p => handedOver.Contains(p.Pid))];
    }

    private sealed record MountInfo(string Root, string MountPoint, string FsType, string Line);

    /// <summary>Parses proc(5) mountinfo: "id parent major:minor root mount-point options [optional...] - type source super-options".</summary>
    private static IEnumerable<MountInfo> ReadMountInfo(string file)
    {
        foreach (var line in File.ReadAllLines(file))
        {
            var fields = line.Split(' ');
            // The separator follows the six fixed fields and any optional ones.
            var separator = fields.Length > 6 ? Array.IndexOf(fields, "-", 6) : -1;
            if (separator < 0 || separator + 1 >= fields.Length)
            {
                continue;
            }
            yield return new MountInfo(Unescape(fields[3]), Unescape(fields[4]), fields[separator + 1], line);
        }
    }

    // mountinfo writes space, tab, newline and backslash in paths as octal escapes (\040).
    private static string Unescape(string field) =>
        OctalEscape().Replace(field, match => ((char)Convert.ToInt32(match.Groups[1].Value, 8)).ToString());

    [GeneratedRegex(@"\\([0-7]{3})")]
    private static partial Regex OctalEscape();
}
