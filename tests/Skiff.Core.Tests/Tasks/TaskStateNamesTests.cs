using Skiff.Core.Tasks;

namespace Skiff.Core.Tests.Tasks;

public sealed class TaskStateNamesTests
{
    [Theory]
    [InlineData(TaskState.Queued, "queued")]
    [InlineData(TaskState.Running, "running")]
    [InlineData(TaskState.Retrying, "retrying")]
    [InlineData(TaskState.Succeeded, "succeeded")]
    [InlineData(TaskState.Failed, "failed")]
    [InlineData(TaskState.TimedOut, "timed_out")]
    [InlineData(TaskState.Cancelled, "cancelled")]
    public void ToWire_EachState_SnakeCaseName(TaskState state, string wire)
    {
        Assert.Equal(wire, state.ToWire());
    }

    [Fact]
    public void TryParse_EveryWireName_RoundTrips()
    {
        foreach (var state in Enum.GetValues<TaskState>())
        {
            Assert.True(TaskStateNames.TryParse(state.ToWire(), out var parsed));
            Assert.Equal(state, parsed);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Queued")]
    [InlineData("TimedOut")]
    [InlineData("timedout")]
    [InlineData("timed-out")]
    [InlineData(" queued")]
    [InlineData("0")]
    public void TryParse_NotAWireName_False(string? value)
    {
        Assert.False(TaskStateNames.TryParse(value, out _));
    }

    [Fact]
    public void AllNames_ListsEveryWireName()
    {
        var names = TaskStateNames.AllNames.Split(", ");
        Assert.Equal(Enum.GetValues<TaskState>().Select(s => s.ToWire()), names);
    }

    [Theory]
    [InlineData(TaskState.Queued, false, true)]
    [InlineData(TaskState.Retrying, false, true)]
    [InlineData(TaskState.Running, false, false)]
    [InlineData(TaskState.Succeeded, true, false)]
    [InlineData(TaskState.Failed, true, false)]
    [InlineData(TaskState.TimedOut, true, false)]
    [InlineData(TaskState.Cancelled, true, false)]
    public void IsTerminalAndIsWaiting_EachState_Classified(TaskState state, bool terminal, bool waiting)
    {
        Assert.Equal(terminal, state.IsTerminal());
        Assert.Equal(waiting, state.IsWaiting());
    }

    [Fact]
    public void IsTerminal_EveryState_TrueExactlyWhenOnlyARedriveLeavesIt()
    {
        // Ties the two definitions together: a state is terminal exactly when nothing but a redrive leaves it.
        foreach (var from in Enum.GetValues<TaskState>())
        {
            var hasExit = Enum.GetValues<TaskState>().Any(to => TaskTransitions.IsLegal(from, to));
            Assert.Equal(!from.IsTerminal(), hasExit);
        }
    }

    [Theory]
    [InlineData(0, Lane.Standard, "standard")]
    [InlineData(4, Lane.Standard, "standard")]
    [InlineData(5, Lane.Priority, "priority")]
    [InlineData(10, Lane.Priority, "priority")]
    public void LaneOf_Priority_LaneAndWireName(int priority, Lane lane, string wire)
    {
        Assert.Equal(lane, TaskSpec.LaneOf(priority));
        Assert.Equal(lane, new TaskSpec { Priority = priority }.Lane);
        Assert.Equal(wire, lane.ToWire());
    }
}
