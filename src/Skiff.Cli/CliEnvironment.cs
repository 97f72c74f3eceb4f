using Spectre.Console;

namespace Skiff.Cli;

/// <summary>
/// Everything the CLI takes from its surroundings (console, environment variables, working directory,
/// clock, network), so commands can run in tests against writers and a fake HTTP handler.
/// </summary>
internal sealed class CliEnvironment
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Standard input (e.g. a secret's value piped in).</summary>
    public TextReader In { get; init; } = TextReader.Null;

    public bool IsInputTerminal { get; init; }

    /// <summary>Whether stdout is a terminal (tables are sized to it; otherwise they never wrap).</summary>
    public bool IsOutputTerminal { get; init; }

    /// <summary>Whether stderr is a terminal (live spinners; otherwise one plain line per change).</summary>
    public bool IsErrorTerminal { get; init; }

    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    public string CurrentDirectory { get; init; } = Environment.CurrentDirectory;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Replaces the network in tests; null: a real <see cref="SocketsHttpHandler"/>.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>The argv prefix that runs this same CLI again (see <see cref="SelfInvocation"/>).</summary>
    public IReadOnlyList<string> SelfCommand { get; init; } = SelfInvocation.Current();

    public static CliEnvironment FromConsole() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        IsInputTerminal = !Console.IsInputRedirected,
        IsOutputTerminal = !Console.IsOutputRedirected,
        IsErrorTerminal = !Console.IsErrorRedirected,
    };

    /// <summary>A value from the environment, with empty treated as unset.</summary>
    public string? Variable(string name) => GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    public string FullPath(string path) => Path.GetFullPath(path, CurrentDirectory);

    public IAnsiConsole CreateOutConsole() => CreateConsole(Out, IsOutputTerminal);

    public IAnsiConsole CreateErrorConsole() => CreateConsole(Error, IsErrorTerminal);

    private static IAnsiConsole CreateConsole(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            // Piped output is read by programs: never wrap a table row at an imaginary 80 columns.
            console.Profile.Width = 512;
        }
        return console;
    }
}
