using Skiff.Core.Tasks;

namespace Skiff.Core.Tests.Tasks;

public sealed class TaskTransitionsTests
{
    // Written out independently of the implementation so a change to the rules has to change this list too.
    private static readonly HashSet<(TaskState From, TaskState To)> Legal =
    [
        (TaskState.Queued, TaskState.Running),
        (TaskState.Retrying, TaskState.Running),
        (TaskState.Queued, TaskState.Cancelled),
        (TaskState.Retrying, TaskState.Cancelled),
        (TaskState.Running, TaskState.Succeeded),
        (TaskState.Running, TaskState.Failed),
        (TaskState.Running, TaskState.TimedOut),
        (TaskState.Running, TaskState.Retrying),
        (TaskState.Running, TaskState.Cancelled),
        (TaskState.Running, TaskState.Queued),
    ];

    private static readonly HashSet<(TaskState From, TaskState To)> Redrive =
    [
        (TaskState.Failed, TaskState.Queued),
        (TaskState.TimedOut, TaskState.Queued),
    ];

    public static TheoryData<TaskState, TaskState> LegalPairs() => ToTheory(Legal);

    public static TheoryData<TaskState, TaskState> AllPairs()
    {
        var data = new TheoryData<TaskState, TaskState>();
        foreach (var from in Enum.GetValues<TaskState>())
        {
            foreach (var to in Enum.GetValues<TaskState>())
            {
                data.Add(from, to);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(LegalPairs))]
    public void IsLegal_LegalPair_True(TaskState from, TaskState to)
    {
        Assert.True(TaskTransitions.IsLegal(from, to));
        Assert.True(TaskTransitions.IsLegal(from, to, deadLettered: true));
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void IsLegal_EveryPair_MatchesTheTable(TaskState from, TaskState to)
    {
        Assert.Equal(Legal.Contains((from, to)), TaskTransitions.IsLegal(from, to, deadLettered: false));
        Assert.Equal(Legal.Contains((from, to)) || Redrive.Contains((from, to)), TaskTransitions.IsLegal(from, to, deadLettered: true));
    }

    [Theory]
    [InlineData(TaskState.Queued, TaskState.Succeeded)]
    [InlineData(TaskState.Queued, TaskState.Failed)]
    [InlineData(TaskState.Queued, TaskState.Retrying)]
    [InlineData(TaskState.Queued, TaskState.Queued)]
    [InlineData(TaskState.Retrying, TaskState.Succeeded)]
    [InlineData(TaskState.Retrying, TaskState.Queued)]
    [InlineData(TaskState.Running, TaskState.Running)]
    public void IsLegal_SkippingAStep_False(TaskState from, TaskState to)
    {
        Assert.False(TaskTransitions.IsLegal(from, to));
    }

    [Theory]
    [InlineData(TaskState.Succeeded)]
    [InlineData(TaskState.Failed)]
    [InlineData(TaskState.TimedOut)]
    [InlineData(TaskState.Cancelled)]
    public void IsLegal_FromTerminalWithoutDeadLetter_AlwaysFalse(TaskState terminal)
    {
        foreach (var to in Enum.GetValues<TaskState>())
        {
            Assert.False(TaskTransitions.IsLegal(terminal, to), $"{terminal} → {to}");
        }
    }

    [Theory]
    [InlineData(TaskState.Failed)]
    [InlineData(TaskState.TimedOut)]
    public void IsLegal_RedriveOfDeadLetteredFailure_OnlyToQueued(TaskState from)
    {
        Assert.True(TaskTransitions.IsLegal(from, TaskState.Queued, deadLettered: true));
        Assert.False(TaskTransitions.IsLegal(from, TaskState.Queued, deadLettered: false));
        foreach (var to in Enum.GetValues<TaskState>().Where(s => s != TaskState.Queued))
        {
            Assert.False(TaskTransitions.IsLegal(from, to, deadLettered: true), $"{from} → {to}");
        }
    }

    [Theory]
    [InlineData(TaskState.Succeeded)]
    [InlineData(TaskState.Cancelled)]
    public void IsLegal_SucceededOrCancelledEvenIfFlaggedDeadLettered_NeverLeaves(TaskState from)
    {
        foreach (var to in Enum.GetValues<TaskState>())
        {
            Assert.False(TaskTransitions.IsLegal(from, to, deadLettered: true), $"{from} → {to}");
        }
    }

    private static TheoryData<TaskState, TaskState> ToTheory(IEnumerable<(TaskState From, TaskState To)> pairs)
    {
        var data = new TheoryData<TaskState, TaskState>();
        foreach (var (from, to) in pairs)
        {
            data.Add(from, to);
        }
        return data;
    }
}
