using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Durability;

/// <summary>
/// kill -9 of a real server process, then a restart on the same data directory: no acknowledged task is lost,
/// none completes twice, attempts that were running are recovered through lease expiry, stored logs survive.
/// </summary>
public sealed class CrashRecoveryTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "sk_e2e_crash_recovery";
    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _directory = new();
    private readonly List<ServerProcess> _servers = [];

    private enum Kind
    {
        /// <summary>sleep 30 with one attempt: running at the crash, so it must end dead-lettered.</summary>
        LastAttemptVictim,

        /// <summary>echo begin; sleep 30 with three attempts: running at the crash, must run again (then is cancelled).</summary>
        RetriedVictim,
        QuickEcho,
        Sleep,
        True,
        Failing,
        EchoSleep,
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        // The first server's attempts outlive its kill -9 as orphans (sleep 30): end them with the test.
        TaskProcesses.KillUnder(_directory.Path);
    }

    /// <summary>After <see cref="DisposeAsync"/> (xunit's order), so no process still works in the directory.</summary>
    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task KillMinus9_WhileTasksRun_EveryAcknowledgedTaskEndsExactlyOnceAfterRestart()
    {
        var launch = new ServerLaunch(_directory.Combine("data"), _directory.Path, AdminKey) { MaxWorkers = 6 };
        var first = await StartAsync(launch);
        using var api = first.CreateApi();

        var kinds = new Dictionary<string, Kind>(StringComparer.Ordinal);
        foreach (var (kind, body) in CrashPlan())
        {
            kinds[await api.SubmitAsync(body)] = kind;
        }
        Assert.Equal(60, kinds.Count);
        string[] IdsOf(params Kind[] wanted) => kinds.Where(k => wanted.Contains(k.Value)).Select(k => k.Key).ToArray();

        // Crash once the victims run (and have logged), and some other tasks have finished.
        var victims = IdsOf(Kind.LastAttemptVictim, Kind.RetriedVictim);
        await Eventually.UntilAsync(
            () => api.ListAllAsync(),
            all => victims.All(v => all.Single(t => t.TaskId == v).Status == "running")
                   && all.Count(t => t.Status == "succeeded" && kinds[t.TaskId] == Kind.QuickEcho) >= 3,
            TimeSpan.FromSeconds(45),
            "the victims to run and three quick tasks to succeed",
            Describe);
        foreach (var id in IdsOf(Kind.RetriedVictim))
        {
            await Eventually.UntilAsync(() => api.LogsAsync(id), log => log.Contains("begin", StringComparison.Ordinal), TimeSpan.FromSeconds(10), $"{id} to log 'begin'");
        }
        var before = (await api.ListAllAsync()).ToDictionary(t => t.TaskId);
        var logsBefore = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var task in before.Values.Where(t => t.Status is "succeeded" or "running"))
        {
            logsBefore[task.TaskId] = await api.LogsAsync(task.TaskId);
        }
        await first.KillAsync();
        var killedBy = DateTimeOffset.UtcNow;

        var second = await StartAsync(launch with { PreferredPort = first.Port });
        using var recovered = second.CreateApi();

        // Regression: the first server's attempts outlived its kill -9 and ran beside their own retries. The
        // restarted server kills them before it runs anything.
        foreach (var id in IdsOf(Kind.LastAttemptVictim).Concat(IdsOf(Kind.RetriedVictim)))
        {
            var firstAttempt = Path.Combine(launch.DataDirectory, "tasks", id, "1");
            await Eventually.UntilAsync(() => Task.FromResult(TaskProcesses.Under(firstAttempt)), pids => pids.Count == 0,
                TimeSpan.FromSeconds(10), $"the first attempt of {id} to be killed by the restarted server",
                pids => string.Join(",", pids));
        }

        // The retried victims run again as attempt 2; they would sleep 30 s more, so they are cancelled once seen.
        foreach (var id in IdsOf(Kind.RetriedVictim))
        {
            await Eventually.UntilAsync(() => recovered.GetAsync(id), t => t.Status == "running" && t.Attempts == 2, TimeSpan.FromSeconds(30), $"{id} to run again");
            await recovered.CancelAsync(id);
        }
        await WaitUntilAllTerminalAsync(recovered, kinds.Keys);

        var leaseExpiredCount = 0;
        foreach (var (id, kind) in kinds)
        {
            var task = await recovered.GetAsync(id);
            TaskHistoryAssert.EndedExactlyOnce(task);
            var recoveredByLease = TaskHistoryAssert.HasLeaseExpired(task);
            leaseExpiredCount += recoveredByLease ? 1 : 0;

            var was = before[id];
            if (was.IsTerminal)
            {
                // Ended before the crash: untouched by the recovery, not run again.
                Assert.True((was.Status, was.Attempts) == (task.Status, task.Attempts), $"changed after the restart: before {was}, after {task}");
                Assert.False(recoveredByLease, $"ended before the crash, yet recovered: {task}");
            }
            else if (was.Status == "running" && kind is Kind.Sleep or Kind.EchoSleep && was.StartedAt + TimeSpan.FromSeconds(1.7) > killedBy)
            {
                // A 2 s attempt that started less than 1.7 s before the kill was surely still running then.
                Assert.True(recoveredByLease, $"running at the crash but not recovered through lease expiry: {task}");
                Assert.True(task.Attempts > was.Attempts, $"not run again after the crash: before {was}, after {task}");
            }

            switch (kind)
            {
                case Kind.LastAttemptVictim:
                    Assert.True(task is { Status: "failed", DeadLettered: true, Attempts: 1 } && recoveredByLease, $"expected dead-lettered by lease expiry: {task}");
                    break;
                case Kind.RetriedVictim:
                    Assert.True(task is { Status: "cancelled", Attempts: 2 } && recoveredByLease, $"expected a second attempt after lease expiry: {task}");
                    Assert.Contains(task.History, e => e is { Status: "queued", Attempt: 1 } && e.Reason!.StartsWith("lease expired; requeued for attempt 2", StringComparison.Ordinal));
                    break;
                case Kind.Failing:
                    Assert.True(task is { Status: "failed", DeadLettered: true, Attempts: 2 }, $"expected failed and dead-lettered after 2 attempts: {task}");
                    if (!recoveredByLease)
                    {
                        Assert.Equal(3, task.ExitCode);
                    }
                    break;
                default:
                    Assert.True(task is { Status: "succeeded", DeadLettered: false, ExitCode: 0 }, $"expected success: {task}");
                    break;
            }

            var log = await recovered.LogsAsync(id);
            if (logsBefore.TryGetValue(id, out var logBefore))
            {
                Assert.True(log.StartsWith(logBefore, StringComparison.Ordinal), $"log lines stored before the crash were lost: before '{logBefore}', after '{log}' ({task})");
            }
            if (kind == Kind.QuickEcho)
            {
                Assert.True(log.Length > 0 && log.Split('\n', StringSplitOptions.RemoveEmptyEntries).All(l => l == "done"), $"log '{log}' of {task}");
            }
            if (kind == Kind.EchoSleep)
            {
                Assert.EndsWith("begin\nend\n", log, StringComparison.Ordinal);
            }
        }
        Assert.True(leaseExpiredCount >= victims.Length, $"{leaseExpiredCount} tasks recovered by lease expiry");
    }

    [Fact]
    public async Task KillMinus9_DuringASubmissionBurst_EveryAcknowledgedTaskIsKeptAndRunsOnce()
    {
        var launch = new ServerLaunch(_directory.Combine("data"), _directory.Path, AdminKey) { MaxWorkers = 4 };
        var first = await StartAsync(launch);
        using var api = first.CreateApi();

        // Four clients submit as fast as they can; only what got its 201 counts as acknowledged.
        var acknowledged = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var sequence = 0;
        async Task SubmitUntilTheServerDiesAsync()
        {
            while (true)
            {
                var line = $"burst {Interlocked.Increment(ref sequence)}";
                HttpStatusCode status;
                TaskView? task;
                try
                {
                    (status, task) = await api.TrySubmitAsync(SkiffApi.CommandTask(["echo", line]));
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
                {
                    return; // the server died mid-request: not acknowledged
                }
                if (status != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"POST /tasks answered {(int)status}");
                }
                acknowledged[task!.TaskId] = line;
            }
        }
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(SubmitUntilTheServerDiesAsync)).ToList();
        await Eventually.UntilAsync(() => acknowledged.Count >= 40 || clients.Any(c => c.IsCompleted), TimeSpan.FromSeconds(30), "40 acknowledged submissions");
        await first.KillAsync();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(acknowledged.Count >= 40, $"only {acknowledged.Count} submissions were acknowledged before the clients stopped");

        var second = await StartAsync(launch with { PreferredPort = first.Port });
        using var recovered = second.CreateApi();
        await WaitUntilAllTerminalAsync(recovered, acknowledged.Keys);

        foreach (var (id, line) in acknowledged)
        {
            var task = await recovered.GetAsync(id);
            TaskHistoryAssert.EndedExactlyOnce(task);
            Assert.True(task is { Status: "succeeded", ExitCode: 0 }, $"expected success: {task}");
            var log = await recovered.LogsAsync(id);
            Assert.True(log.Length > 0 && log.Split('\n', StringSplitOptions.RemoveEmptyEntries).All(l => l == line), $"log '{log}' of {task}");
        }
    }

    /// <summary>
    /// 60 tasks. The priority lane starts the victims first and they keep four of the six workers busy until the
    /// crash; the rest, interleaved in the standard lane, are at every stage when the server dies.
    /// </summary>
    private static List<(Kind Kind, JsonObject Body)> CrashPlan()
    {
        var plan = new List<(Kind, JsonObject)>();
        for (var i = 0; i < 2; i++)
        {
            plan.Add((Kind.LastAttemptVictim, SkiffApi.CommandTask(["sleep", "30"], priority: 10, maxAttempts: 1)));
            plan.Add((Kind.RetriedVictim, SkiffApi.CommandTask(["sh", "-c", "echo begin; sleep 30"], priority: 9, maxAttempts: 3)));
        }
        for (var i = 0; i < 15; i++)
        {
            if (i < 14)
            {
                plan.Add((Kind.QuickEcho, SkiffApi.CommandTask(["sh", "-c", "sleep 0.2; echo done"], priority: i % 5)));
            }
            if (i < 12)
            {
                plan.Add((Kind.Sleep, SkiffApi.CommandTask(["sleep", "2"], priority: i < 2 ? 6 : null)));
            }
            plan.Add((Kind.True, SkiffApi.CommandTask(["true"], priority: i < 2 ? 7 : i % 3)));
            if (i < 10)
            {
                plan.Add((Kind.Failing, SkiffApi.CommandTask(["sh", "-c", "exit 3"], maxAttempts: 2)));
            }
            if (i < 5)
            {
                plan.Add((Kind.EchoSleep, SkiffApi.CommandTask(["sh", "-c", "echo begin; sleep 2; echo end"], priority: 3)));
            }
        }
        return plan;
    }

    private async Task<ServerProcess> StartAsync(ServerLaunch launch)
    {
        var server = await ServerProcess.StartAsync(launch);
        _servers.Add(server);
        return server;
    }

    private static Task WaitUntilAllTerminalAsync(SkiffApi api, ICollection<string> ids) =>
        Eventually.UntilAsync(
            () => api.ListAllAsync(),
            all =>
            {
                var terminal = all.Where(t => t.IsTerminal).Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal);
                return ids.All(terminal.Contains);
            },
            SettleDeadline,
            $"all {ids.Count} acknowledged tasks to end",
            all =>
            {
                var byId = all.ToDictionary(t => t.TaskId, StringComparer.Ordinal);
                return "unfinished: " + string.Join("; ", ids
                    .Where(id => !byId.TryGetValue(id, out var t) || !t.IsTerminal)
                    .Select(id => byId.TryGetValue(id, out var t) ? t.ToString() : $"{id} MISSING"));
            });

    private static string Describe(IReadOnlyList<TaskView> all) =>
        string.Join(", ", all.GroupBy(t => t.Status).Select(g => $"{g.Key}: {g.Count()}"));
}
