using System.Text;
using Skiff.Core.Tasks;
using Skiff.Storage.Sqlite;

namespace Skiff.Storage.Tests.Sqlite;

public sealed class TaskHistoryTests
{
    private static readonly DateTimeOffset At = new(2025, 3, 1, 12, 0, 0, 123, TimeSpan.Zero);

    [Theory]
    [InlineData("leased by worker-1")]
    [InlineData("exit code 1: \"quoted\", back\\slash,\nnew line, tab\t, ünïcødé ✓")]
    [InlineData("")]
    [InlineData(null)]
    public void Line_ThenParse_GivesTheEventBack(string? reason)
    {
        var line = TaskHistory.Line(At.ToUnixTimeMilliseconds(), TaskState.Retrying, 2, reason).ToArray();

        var events = TaskHistory.Parse(line);

        Assert.Equal([new TaskEvent(At, TaskState.Retrying, 2, reason)], events);
        // One line each, whatever the reason holds: appending lines is how a transition records itself.
        Assert.Equal(1, line.Count(b => b == (byte)'\n'));
        Assert.Equal((byte)'\n', line[^1]);
    }

    [Fact]
    public void Parse_ConcatenatedLines_InOrder()
    {
        var history = TaskHistory.Line(1_000, TaskState.Running, 1, "leased by w").ToArray()
            .Concat(TaskHistory.Line(2_000, TaskState.Succeeded, 1, "exited 0").ToArray()).ToArray();

        var events = TaskHistory.Parse(history);

        Assert.Equal([TaskState.Running, TaskState.Succeeded], events.Select(e => e.Status));
        Assert.Equal([1_000L, 2_000L], events.Select(e => e.At.ToUnixTimeMilliseconds()));
    }

    [Fact]
    public void Parse_Empty_NoEvents()
    {
        Assert.Empty(TaskHistory.Parse([]));
    }

    [Theory]
    [InlineData("not json\n")]
    [InlineData("[1, 2]\n")]
    [InlineData("[1, 2, 3, 4, 5]\n")]
    [InlineData("[\"x\", 2, 3, null]\n")]
    [InlineData("{\"at\": 1}\n")]
    [InlineData("[1, 2, 3, 4]\n")]
    public void Parse_ALineItDidNotWrite_InvalidData(string history)
    {
        Assert.Throws<InvalidDataException>(() => TaskHistory.Parse(Encoding.UTF8.GetBytes(history)));
    }
}
