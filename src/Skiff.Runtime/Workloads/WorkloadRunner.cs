using System.Text.Json;
using Skiff.Core.Tasks;

namespace Skiff.Runtime.Workloads;

/// <summary>
/// Runs a built-in workload in the current process: what <c>skiff workload TYPE</c> does inside a task.
/// The work is real (hashing, allocating, disk and socket I/O), never simulated.
/// </summary>
public static class WorkloadRunner
{
    /// <summary>Exit code for an unknown type or bad parameters.</summary>
    public const int InvalidParametersExitCode = 2;

    /// <summary>Exit code when cancelled (Ctrl+C), as a shell reports a SIGINT death.</summary>
    public const int CancelledExitCode = 130;

    /// <summary>Exit code when the work itself failed (connection refused, I/O error, bad checksum).</summary>
    public const int FailedExitCode = 1;

    internal const string ResultFileName = "result.json";

    private static readonly JsonSerializerOptions ResultJsonOptions = new() { WriteIndented = true };

    private static readonly Dictionary<string, Func<WorkloadContext, CancellationToken, Task<int>>> Workloads =
        new(StringComparer.Ordinal)
        {
            [WorkloadTypes.CpuIntensive] = BuiltInWorkloads.CpuAsync,
            [WorkloadTypes.MemoryIntensive] = BuiltInWorkloads.MemoryAsync,
            [WorkloadTypes.IoIntensive] = BuiltInWorkloads.IoAsync,
            [WorkloadTypes.NetworkTest] = BuiltInWorkloads.NetworkAsync,
            [WorkloadTypes.Error] = BuiltInWorkloads.ErrorAsync,
            [WorkloadTypes.Timeout] = BuiltInWorkloads.TimeoutAsync,
        };

    /// <summary>
    /// Runs <paramref name="type"/> and returns the process exit code: 0 on success, the workload's own code,
    /// <see cref="InvalidParametersExitCode"/>, <see cref="FailedExitCode"/> or <see cref="CancelledExitCode"/>.
    /// Scratch files go to the current directory; when SKIFF_OUTPUT is set, a summary is written to
    /// $SKIFF_OUTPUT/result.json.
    /// </summary>
    public static Task<int> RunAsync(
        string type,
        IReadOnlyDictionary<string, string> parameters,
        TextWriter stdout,
        TextWriter stderr,
        CancellationToken cancellationToken) =>
        RunAsync(
            type,
            parameters,
            stdout,
            stderr,
            Environment.GetEnvironmentVariable("SKIFF_OUTPUT") is { Length: > 0 } output ? output : null,
            Environment.CurrentDirectory,
            TimeProvider.System,
            cancellationToken);

    internal static async Task<int> RunAsync(
        string type,
        IReadOnlyDictionary<string, string> parameters,
        TextWriter stdout,
        TextWriter stderr,
        string? outputDirectory,
        string workDirectory,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        if (!Workloads.TryGetValue(type, out var workload))
        {
            await stderr.WriteLineAsync($"unknown workload type '{type}' (one of: {string.Join(", ", WorkloadTypes.Names)})").ConfigureAwait(false);
            return InvalidParametersExitCode;
        }
        var errors = new List<string>();
        WorkloadCommand.CheckParameters(type, parameters, errors);
        if (errors.Count > 0)
        {
            return await ReportInvalidAsync(type, errors, stderr).ConfigureAwait(false);
        }

        var context = new WorkloadContext(type, parameters, stdout, stderr, workDirectory, timeProvider);
        int exitCode;
        try
        {
            exitCode = await workload(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync($"{type}: cancelled").ConfigureAwait(false);
            context.Result["cancelled"] = true;
            exitCode = CancelledExitCode;
        }
        catch (Exception e)
        {
            // The workload is the task's whole program: its crash is reported like any program's would be.
            await stderr.WriteLineAsync($"{type}: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            context.Result["error"] = e.Message;
            exitCode = FailedExitCode;
        }

        if (!context.Parameters.Valid)
        {
            return await ReportInvalidAsync(type, context.Parameters.Errors, stderr).ConfigureAwait(false);
        }
        context.Result["exitCode"] = exitCode;
        if (outputDirectory is not null)
        {
            await WriteResultAsync(context, outputDirectory).ConfigureAwait(false);
        }
        return exitCode;
    }

    private static async Task<int> ReportInvalidAsync(string type, List<string> errors, TextWriter stderr)
    {
        foreach (var error in errors)
        {
            await stderr.WriteLineAsync($"{type}: {error}").ConfigureAwait(false);
        }
        return InvalidParametersExitCode;
    }

    private static async Task WriteResultAsync(WorkloadContext context, string outputDirectory)
    {
        try
        {
            Directory.CreateDirectory(outputDirectory);
            var path = Path.Combine(outputDirectory, ResultFileName);
            // Written even when cancelled, so no token: it is small and the task is about to end anyway.
            await File.WriteAllTextAsync(path, context.Result.ToJsonString(ResultJsonOptions) + "\n", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The summary is a convenience; the workload's own outcome stands.
            await context.Stderr.WriteLineAsync($"{context.Type}: could not write {ResultFileName}: {e.Message}").ConfigureAwait(false);
        }
    }
}
