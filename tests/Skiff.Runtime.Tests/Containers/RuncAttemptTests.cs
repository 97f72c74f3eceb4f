using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Tests.Execution;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Containers;

/// <summary>
/// What each test of one attempt in a real container needs: its own task id, work and output directories and
/// sink, a shell request, and the check that the attempt left nothing (no container in the state root, no
/// cgroup, no bundle).
/// </summary>
public abstract class RuncAttemptTests : IDisposable
{
    protected RuncAttemptTests(RuncFixture fixture)
    {
        Fixture = fixture;
        Work = Directory.CreateDirectory(Root.Combine("work")).FullName;
        Output = Directory.CreateDirectory(Root.Combine("out")).FullName;
    }

    private protected RuncFixture Fixture { get; }

    private protected TempDirectory Root { get; } = new();

    private protected string Work { get; }

    private protected string Output { get; }

    private protected RecordingSink Sink { get; } = new();

    private protected string TaskId { get; } = "t_" + Guid.NewGuid().ToString("N")[..20];

    private protected string ContainerId => TaskId + "-1";

    public void Dispose()
    {
        Root.Dispose();
        GC.SuppressFinalize(this);
    }

    private protected ExecutionRequest Shell(string script) => Request("sh", "-c", script);

    private protected ExecutionRequest Request(params string[] command) => new()
    {
        TaskId = TaskId,
        Attempt = 1,
        Command = command,
        WorkDirectory = Work,
        OutputDirectory = Output,
        Timeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>Runs the attempt through the fixture's executor, then checks it left nothing.</summary>
    private protected Task<ExecutionResult> RunAsync(ExecutionRequest request, CancellationToken cancellationToken = default) =>
        RunAsync(Fixture.Executor, request, cancellationToken);

    /// <summary>Runs the attempt through <paramref name="executor"/>, then checks it left nothing.</summary>
    private protected async Task<ExecutionResult> RunAsync(RuncExecutor executor, ExecutionRequest request, CancellationToken cancellationToken = default)
    {
        Assert.True(Fixture.Available, Fixture.Problem);
        var result = await executor.ExecuteAsync(request, Sink, cancellationToken);
        await AssertNothingLeftAsync();
        return result;
    }

    private protected async Task AssertNothingLeftAsync()
    {
        var runc = new RuncCli(Fixture.Options.RuncPath, Path.Combine(Fixture.Options.StateRoot, "state"));
        Assert.Empty(await runc.ListAsync());
        Assert.False(Directory.Exists($"/sys/fs/cgroup/memory/skiff/{ContainerId}"), "memory cgroup left behind");
        Assert.Empty(new Cgroups().Directories(ContainerId));
        Assert.False(Directory.Exists(Path.Combine(Fixture.Options.StateRoot, "bundles", ContainerId)), "bundle left behind");
    }
}
