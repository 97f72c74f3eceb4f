using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Core.Queue;
using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Workloads;
using Skiff.Server.Hosting;
using Skiff.Server.Secrets;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Scheduling;

/// <summary>
/// Runs one attempt from lease to recorded end: lease → working directories → executor (output to the
/// log store) → decision (retry, final, dead-letter) → one completing transaction. An attempt ends
/// exactly once: the completion is refused by the store if the lease was lost meanwhile.
/// </summary>
internal sealed class AttemptRunner(
    ITaskStore store,
    DispatchQueue queue,
    ITaskExecutor executor,
    LogNotifier notifier,
    SkiffMetrics metrics,
    TimeProvider time,
    IOptions<SkiffOptions> options,
    SecretService secrets,
    ILogger<AttemptRunner> logger)
{
    public const string Owner = "embedded";

    private readonly SkiffOptions _options = options.Value;
    private readonly WorkDirectoryPool _workDirectories = new(Path.Combine(options.Value.DataDirectory, "spare-work"));
    private readonly RetryPolicy _retry = new() { BaseDelay = options.Value.RetryBaseDelay, MaxDelay = options.Value.RetryMaxDelay };
    // A built-in workload runs the skiff program itself: on the host, or bound into the attempt's container.
    private readonly WorkloadProgram _workloads = executor.Isolates
        ? WorkloadProgram.InContainer(SkiffCommand(options.Value))
        : WorkloadProgram.OnHost(SkiffCommand(options.Value));

    public RetryPolicy Retry => _retry;

    private static IReadOnlyList<string> SkiffCommand(SkiffOptions options) =>
        options.SkiffCommand.Length > 0 ? options.SkiffCommand : WorkloadCommand.CurrentProcess();

    private Dictionary<string, string> WithWorkloadEnvironment(IReadOnlyDictionary<string, string> environment)
    {
        var merged = new Dictionary<string, string>(_workloads.Environment, StringComparer.Ordinal);
        foreach (var (name, value) in environment)
        {
            merged[name] = value;
        }
        return merged;
    }

    public async Task RunAsync(RunningAttempt attempt)
    {
        var now = time.GetUtcNow();
        var lease = await store.LeaseAsync(attempt.TaskId, Owner, now, now + _options.LeaseDuration, CancellationToken.None);
        if (!lease.Applied)
        {
            // Cancelled (or deleted) between leaving the ready queue and the lease: nothing to run.
            return;
        }
        var task = lease.Task!;
        attempt.Task = task;
        var leasedAt = time.GetUtcNow();
        metrics.LeaseLatency.Record((leasedAt - attempt.Queued.ReadyAt).TotalMilliseconds);

        var attemptDirectory = Path.Combine(_options.DataDirectory, "tasks", task.TaskId, task.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var work = Path.Combine(attemptDirectory, "work");
        var output = Path.Combine(attemptDirectory, "output");
        AttemptLog? log = null;
        ExecutionResult result;
        try
        {
            Directory.CreateDirectory(output);
            if (!executor.Isolates)
            {
                _workDirectories.Create(work); // a container has its own /work: one directory less per attempt
            }
            log = new AttemptLog(store, notifier, time, task.TaskId, task.Attempts, await store.LastLogLineNoAsync(task.TaskId, CancellationToken.None));
            // Secret values exist only in this attempt's environment; the mask keeps them out of what is stored.
            var attemptSecrets = await secrets.ResolveAsync(task, CancellationToken.None);
            var request = new ExecutionRequest
            {
                TaskId = task.TaskId,
                Attempt = task.Attempts,
                Command = task.Spec.Type is { } type ? _workloads.CommandFor(type, task.Spec.Parameters) : task.Spec.Command!,
                Env = task.Spec.Type is null ? attemptSecrets.Environment : WithWorkloadEnvironment(attemptSecrets.Environment),
                Image = task.Spec.Type is null ? task.Spec.Image : _workloads.Image ?? task.Spec.Image,
                Binds = task.Spec.Type is null ? [] : _workloads.Binds,
                Cpu = task.Spec.Cpu,
                MemoryMb = task.Spec.MemoryMb,
                Network = task.Spec.Network,
                PidsLimit = task.Spec.PidsLimit,
                EphemeralStorageMb = task.Spec.EphemeralStorageMb,
                // Validated at submission; anything else falls to the least privileged identity, never root.
                User = TaskUser.TryParse(task.Spec.User, out var user) ? user : TaskUser.Default,
                Timeout = TimeSpan.FromSeconds(task.Spec.TimeoutSeconds),
                WorkDirectory = Path.GetFullPath(work),
                OutputDirectory = Path.GetFullPath(output),
            };
            result = attemptSecrets.Mask.Apply(await executor.ExecuteAsync(request, attemptSecrets.Mask.Wrap(log), attempt.Stopping.Token));
            if (log.StartedAt is { } started)
            {
                metrics.StartLatency.Record((started - attempt.Queued.ReadyAt).TotalMilliseconds);
            }
            if (result.Status == ExecutionStatus.FailedToStart && result.Error is not null)
            {
                await log.WriteSystemLineAsync("skiff: " + result.Error);
            }
        }
        catch (SecretUnavailableException ex)
        {
            result = new ExecutionResult(ExecutionStatus.FailedToStart, null, ex.Message, new TaskUsage(0, 0, 0), "", "");
            await log!.WriteSystemLineAsync("skiff: " + ex.Message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The host failed us (disk full, permissions): the attempt failed, the task may retry.
            logger.LogWarning(ex, "Attempt {Attempt} of {TaskId} could not be prepared", task.Attempts, task.TaskId);
            result = new ExecutionResult(ExecutionStatus.FailedToStart, null, "could not prepare the attempt: " + ex.Message, new TaskUsage(0, 0, 0), "", "");
        }
        finally
        {
            if (log is not null)
            {
                await log.CompleteAsync();
            }
        }

        await CompleteAsync(attempt, task, result, Path.GetFullPath(output));
        if (!executor.Isolates)
        {
            _workDirectories.Recycle(work);
        }
    }

    private async Task CompleteAsync(RunningAttempt attempt, TaskRecord task, ExecutionResult result, string output)
    {
        var (outcome, error) = result.Status switch
        {
            ExecutionStatus.Exited when result.ExitCode == 0 => (AttemptOutcome.Succeeded, null),
            ExecutionStatus.Exited => (AttemptOutcome.Failed, result.Error ?? $"exited with code {result.ExitCode}"),
            ExecutionStatus.TimedOut => (AttemptOutcome.TimedOut, result.Error ?? $"timed out after {task.Spec.TimeoutSeconds}s"),
            ExecutionStatus.OomKilled => (AttemptOutcome.Failed, result.Error ?? "OOMKilled: exceeded its memory limit"),
            ExecutionStatus.Cancelled => (attempt.StopReason == StopReason.Shutdown ? AttemptOutcome.Interrupted : AttemptOutcome.Cancelled, "cancelled"),
            _ => (AttemptOutcome.Failed, result.Error ?? "could not start"),
        };
        if (outcome == AttemptOutcome.Cancelled)
        {
            error = "cancelled by request";
        }
        else if (outcome == AttemptOutcome.Interrupted)
        {
            error = null;
        }
        var now = time.GetUtcNow();
        var decision = AttemptDecision.Decide(outcome, task.Attempts, task.Spec.MaxAttempts, attempt.StopReason == StopReason.Cancel,
            _retry, now, Random.Shared.NextDouble(), error);
        var taskResult = new TaskResult(result.ExitCode, result.StdoutTail, result.StderrTail, result.Usage, Artifacts.Scan(output), output);
        var completion = await store.CompleteAttemptAsync(
            new AttemptCompletion(task.TaskId, task.Attempts, Owner, decision, now, result.ExitCode, error, taskResult), CancellationToken.None);
        metrics.Attempts.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeNames[outcome]));
        metrics.Duration.Record(result.Usage.WallMs);
        if (!completion.Applied)
        {
            Log.StaleCompletion(logger, task.TaskId, task.Attempts);
            return;
        }
        var ended = completion.Task!;
        if (ended.Status.IsWaiting())
        {
            queue.Enqueue(ended);
        }
        else if (ended.Status.IsTerminal())
        {
            metrics.Completed.Add(1, new KeyValuePair<string, object?>("status", ended.Status.ToWire()));
        }
        notifier.Notify(task.TaskId);
    }

    private static readonly FrozenDictionary<AttemptOutcome, string> OutcomeNames =
        Enum.GetValues<AttemptOutcome>().ToFrozenDictionary(o => o, o => o.ToString().ToLowerInvariant());
}
