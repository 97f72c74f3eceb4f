using Skiff.Runtime.Execution;

namespace Skiff.Runtime.Tests.Execution;

public sealed class ProcessInternalsTests
{
    [Fact]
    public void TryParseStat_CommandNameWithSpacesAndParentheses_ReadsFieldsAfterIt()
    {
        // Fields 3..22 of proc(5); utime=10 stime=20 cutime=3 cstime=4, starttime=98765.
        const string text = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194304 100 0 0 0 10 20 3 4 20 0 1 0 98765 1000 50";

        Assert.True(ProcessTree.TryParseStat(text, out var stat));

        Assert.Equal('S', stat.State);
        Assert.Equal(1, stat.ParentPid);
        Assert.Equal(4242, stat.ProcessGroup);
        Assert.Equal(37, stat.CpuTicks);
        Assert.Equal(98765UL, stat.StartTime);
    }

    [Theory]
    [InlineData("")]
    [InlineData("4242 (cmd")]
    [InlineData("4242 (cmd) S 1 2")]
    public void TryParseStat_Malformed_ReturnsFalse(string text)
    {
        Assert.False(ProcessTree.TryParseStat(text, out _));
    }

    [Fact]
    public void TryReadStat_CurrentProcess_Running()
    {
        Assert.True(ProcessTree.TryReadStat(Environment.ProcessId, out var stat));

        Assert.NotEqual('Z', stat.State);
        Assert.True(stat.CpuTicks > 0);
        Assert.True(ProcessTree.IsAlive(Environment.ProcessId));
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0x62 }, 2)]
    [InlineData(new byte[] { 0x61, 0xC3 }, 1)]
    [InlineData(new byte[] { 0x61, 0xC3, 0xA9 }, 3)]
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 }, 1)]
    [InlineData(new byte[] { 0x61, 0xF0, 0x9F, 0x98 }, 1)]
    [InlineData(new byte[] { 0x61, 0xF0, 0x9F, 0x98, 0x80 }, 5)]
    [InlineData(new byte[] { }, 0)]
    public void CompleteUtf8Length_CutSequence_DropsOnlyTheIncompleteCharacter(byte[] bytes, int expected)
    {
        Assert.Equal(expected, OutputPump.CompleteUtf8Length(bytes));
    }

    [Fact]
    public void ResolveCommand_NameOnTaskPath_FoundThere()
    {
        var resolved = ProcessExecutor.ResolveCommand("sh", "relative/dir:/nonexistent:/bin", "/", out var error);

        Assert.Equal("/bin/sh", resolved);
        Assert.Equal("", error);
    }

    [Fact]
    public void ResolveCommand_NameNotOnTaskPath_NotFound()
    {
        var resolved = ProcessExecutor.ResolveCommand("sh", "/nonexistent", "/", out var error);

        Assert.Null(resolved);
        Assert.Equal("command not found: sh", error);
    }
}
