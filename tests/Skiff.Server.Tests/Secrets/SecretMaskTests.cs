using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;
using Skiff.Server.Secrets;
using Xunit;

namespace Skiff.Server.Tests.Secrets;

public sealed class SecretMaskTests
{
    [Fact]
    public void Apply_ValueSeveralTimes_EveryOccurrenceReplaced()
    {
        var mask = new SecretMask(["hunter2"]);

        Assert.Equal("pw=*** again *** end", mask.Apply("pw=hunter2 again hunter2 end"));
        Assert.Equal("nothing here", mask.Apply("nothing here"));
    }

    [Fact]
    public void Apply_OneValueContainsAnother_TheLongerIsReplacedWhole()
    {
        var mask = new SecretMask(["abc", "abcdef-long"]);

        Assert.Equal("*** and ***", mask.Apply("abcdef-long and abc"));
    }

    [Fact]
    public void Apply_MultiLineValue_EachLineMaskedOnItsOwn()
    {
        // Output is stored line by line, so a printed PEM key never arrives whole.
        var mask = new SecretMask(["-----BEGIN KEY-----\r\nMIIBVwIBADANBg\nxy\n-----END KEY-----\n"]);

        Assert.Equal("***", mask.Apply("-----BEGIN KEY-----"));
        Assert.Equal("***", mask.Apply("MIIBVwIBADANBg"));
        Assert.Equal("a xy b", mask.Apply("a xy b"));
    }

    [Fact]
    public void ApplyToLine_ShortLineEndingWithTheStartOfAValue_Unchanged()
    {
        var mask = new SecretMask(["s3cret-value"]);

        Assert.Equal("prefix s3cr", mask.ApplyToLine("prefix s3cr"));
    }

    [Fact]
    public void ApplyToLine_LineCutAt64KiBInsideAValue_TheStartOfTheValueMasked()
    {
        var mask = new SecretMask(["s3cret-value"]);
        var line = new string('x', 64 * 1024 - 6) + "s3cret";

        Assert.Equal(new string('x', 64 * 1024 - 6) + "***", mask.ApplyToLine(line));
    }

    [Fact]
    public void ApplyToTail_TailStartingInsideAValue_TheEndOfTheValueMasked()
    {
        var mask = new SecretMask(["s3cret-value"]);

        Assert.Equal("***\nnext line\n*** again", mask.ApplyToTail("et-value\nnext line\ns3cret-value again"));
    }

    [Fact]
    public void ApplyToTail_FragmentShorterThanFour_Unchanged()
    {
        var mask = new SecretMask(["s3cret-value"]);

        Assert.Equal("lue rest", mask.ApplyToTail("lue rest"));
    }

    [Theory]
    [InlineData("abcdef", "xxabc", 3)]
    [InlineData("abcdef", "xxabcdef", 0)]
    [InlineData("aab", "xaaa", 2)]
    [InlineData("abab", "zzaba", 3)]
    [InlineData("abcdef", "", 0)]
    [InlineData("a", "a", 0)]
    public void Overlap_Cases_LongestProperPrefixAtTheEnd(string value, string text, int expected) =>
        Assert.Equal(expected, SecretMask.Overlap(value, text));

    [Fact]
    public void Apply_ExecutionResult_ErrorAndBothTailsMasked()
    {
        var mask = new SecretMask(["hunter2"]);
        var result = new ExecutionResult(ExecutionStatus.Exited, 1, "failed: hunter2", new TaskUsage(1, 1, 1), "out hunter2", "err hunter2\n");

        var masked = mask.Apply(result);

        Assert.Equal("failed: ***", masked.Error);
        Assert.Equal("out ***", masked.StdoutTail);
        Assert.Equal("err ***\n", masked.StderrTail);
        Assert.Equal(result.ExitCode, masked.ExitCode);
    }

    [Fact]
    public async Task Wrap_Sink_LinesMaskedBeforeTheyArrive()
    {
        var inner = new RecordingSink();
        var sink = new SecretMask(["hunter2"]).Wrap(inner);
        var at = DateTimeOffset.UnixEpoch;

        sink.Started(at);
        await sink.WriteLineAsync(LogStream.Stdout, "the password is hunter2", CancellationToken.None);

        Assert.Equal(at, inner.StartedAt);
        Assert.Equal(["the password is ***"], inner.Lines);
        Assert.Same(inner, SecretMask.None.Wrap(inner));
    }

    private sealed class RecordingSink : IExecutionSink
    {
        public List<string> Lines { get; } = [];

        public DateTimeOffset? StartedAt { get; private set; }

        public ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken)
        {
            Lines.Add(line);
            return ValueTask.CompletedTask;
        }

        public void Started(DateTimeOffset at) => StartedAt = at;
    }
}
