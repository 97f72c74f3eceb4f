using Skiff.Cli;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

public sealed class ExitCodesTests
{
    [Theory]
    [InlineData("succeeded", 0, 0)]
    [InlineData("succeeded", null, 0)]
    [InlineData("failed", 3, 3)]
    [InlineData("failed", null, 1)]
    [InlineData("failed", 0, 1)] // exited 0, failed afterwards: must not look like success
    [InlineData("failed", -9, 137)] // killed by SIGKILL, reported as a negative code
    [InlineData("failed", 4000, 1)]
    [InlineData("timed_out", null, 124)]
    [InlineData("timed_out", 137, 124)] // the kill after the timeout is not the task's own exit code
    [InlineData("cancelled", null, 130)]
    [InlineData("cancelled", 143, 130)]
    [InlineData("something-new", 0, 1)]
    public void ForTask_StatusAndExitCode_MapsToProcessExitCode(string status, int? exitCode, int expected)
    {
        Assert.Equal(expected, ExitCodes.ForTask(status, exitCode));
    }
}
