namespace Skiff.Cli;

/// <summary>
/// A failure the CLI reports as one line (<c>error: message</c>) and an exit code, never a stack trace.
/// </summary>
internal sealed class CliException : Exception
{
    public CliException()
        : this("unknown error")
    {
    }

    public CliException(string message)
        : this(message, ExitCodes.Failure)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.Failure;
    }

    public CliException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }

    /// <summary>The command line itself is wrong (exit code 2).</summary>
    public static CliException Usage(string message) => new(message, ExitCodes.Usage);
}
