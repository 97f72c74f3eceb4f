using Skiff.Core.Tasks;

namespace Skiff.Runtime.Execution;

/// <summary>
/// Runs one attempt of a task to its end. Implementations: a plain process (no isolation, for development)
/// and runc containers. The request already carries what a container needs (image, cpu, memory, network).
/// </summary>
public interface ITaskExecutor
{
    /// <summary>Shown in /health and logs, e.g. "process (no isolation)".</summary>
    string Name { get; }

    /// <summary>Whether tasks are isolated from the host and from each other.</summary>
    bool Isolates { get; }

    /// <summary>
    /// Runs the attempt. Never throws for the task's own failures (those are data in the result); honours
    /// the timeout itself; when <paramref name="cancellationToken"/> fires, kills everything the attempt
    /// started and returns <see cref="ExecutionStatus.Cancelled"/>.
    /// </summary>
    Task<ExecutionResult> ExecuteAsync(ExecutionRequest request, IExecutionSink sink, CancellationToken cancellationToken);
}

/// <summary>Receives output as it is produced, line by line.</summary>
public interface IExecutionSink
{
    /// <summary>Called for each complete line (without its newline); may apply back-pressure.</summary>
    ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken);

    /// <summary>Called once the process has started (for submit → started latency).</summary>
    void Started(DateTimeOffset at);
}

public sealed record ExecutionRequest
{
    public required string TaskId { get; init; }
    public required int Attempt { get; init; }
    /// <summary>argv; argv[0] is resolved on PATH.</summary>
    public required IReadOnlyList<string> Command { get; init; }
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public string Image { get; init; } = TaskDefaults.Image;
    public int Cpu { get; init; } = TaskDefaults.Cpu;
    public int MemoryMb { get; init; } = TaskDefaults.MemoryMb;
    public string Network { get; init; } = TaskDefaults.Network;
    /// <summary>The most processes (threads included) the attempt may have; isolating executors only.</summary>
    public int PidsLimit { get; init; } = TaskDefaults.PidsLimit;
    /// <summary>The size cap of the attempt's /tmp; isolating executors only.</summary>
    public int EphemeralStorageMb { get; init; } = TaskDefaults.EphemeralStorageMb;
    /// <summary>Who the attempt runs as; isolating executors only (a plain process runs as the server).</summary>
    public TaskUser User { get; init; } = TaskUser.Default;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(TaskDefaults.TimeoutSeconds);
    /// <summary>
    /// Host directories shown read-only inside the container (the skiff program for built-in workloads);
    /// isolating executors only: a plain process sees the host as it is.
    /// </summary>
    public IReadOnlyList<ReadOnlyBind> Binds { get; init; } = [];
    /// <summary>
    /// The attempt's working directory on the host, created empty by the caller when the executor runs
    /// attempts on the host; an isolating executor gives each attempt a /work of its own instead.
    /// </summary>
    public required string WorkDirectory { get; init; }
    /// <summary>Where the task writes its artifacts; exported as SKIFF_OUTPUT.</summary>
    public required string OutputDirectory { get; init; }
}

/// <summary>A host directory (<paramref name="Source"/>) shown read-only at <paramref name="Destination"/> inside a container.</summary>
public sealed record ReadOnlyBind(string Source, string Destination);

public enum ExecutionStatus
{
    /// <summary>The command ran and exited (any exit code).</summary>
    Exited,
    TimedOut,
    Cancelled,
    /// <summary>The command could not be started (not found, not executable).</summary>
    FailedToStart,
    /// <summary>Killed for exceeding its memory limit.</summary>
    OomKilled,
}

public sealed record ExecutionResult(
    ExecutionStatus Status,
    int? ExitCode,
    string? Error,
    TaskUsage Usage,
    string StdoutTail,
    string StderrTail);
