using System.Diagnostics;
using Xunit;

namespace Skiff.EndToEnd.Tests.Infrastructure;

/// <summary>How a finished command went: exit code and everything it wrote.</summary>
internal sealed record ProcessRun(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> StdoutLines => Lines(Stdout);

    public IReadOnlyList<string> StderrLines => Lines(Stderr);

    /// <summary>Runs a command to its end; kills it (and its children) and throws when it outlives <paramref name="timeout"/>.</summary>
    public static async Task<ProcessRun> RunAsync(ProcessStartInfo startInfo, TimeSpan timeout)
    {
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {startInfo.FileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException(
                $"{startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)} did not end within {timeout.TotalSeconds:0} s; "
                + $"stdout: {await stdout}; stderr: {await stderr}");
        }
        return new ProcessRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// What every failing skiff command must look like: a non-zero exit, nothing on stdout, exactly one
    /// <c>error: </c> line on stderr. Returns that line.
    /// </summary>
    public string AssertOneErrorLine()
    {
        Assert.True(ExitCode != 0, $"expected a failure, got exit 0; stdout: {Stdout}");
        Assert.Equal("", Stdout);
        var line = Assert.Single(StderrLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        return line;
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
}
