using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Skiff.Cli.Commands;

namespace Skiff.Cli;

/// <summary>
/// The <c>skiff</c> command tree and how it is run: usage errors exit 2, failures exit 1, each with exactly one
/// <c>error: ...</c> line on stderr and never a stack trace (unless SKIFF_DEBUG is set).
/// </summary>
internal sealed class SkiffCli
{
    /// <summary>'@file' must reach the task as-is (skiff submit -- curl -d @body.json), not expand to a response file.</summary>
    private static readonly ParserConfiguration ParserConfiguration = new() { ResponseFileTokenReplacer = null };

    private readonly CliEnvironment _environment;

    public SkiffCli(CliEnvironment environment)
    {
        _environment = environment;
        var client = new ClientOptions();
        Server = new ServerCommands(environment);
        Workload = new WorkloadCommands(environment);
        Submit = new SubmitCommands(environment, client);
        Tasks = new TaskCommands(environment, client);
        DeadLetter = new DeadLetterCommands(environment, client, Tasks);
        Demo = new DemoCommands(environment);
        Secrets = new SecretCommands(environment, client);
        Audit = new AuditCommands(environment, client);
        Users = new UserCommands(environment, client);
        Images = new ImageCommands(environment, client);

        Root = new RootCommand("Skiff: a self-hosted compute platform. Start with: ./skiff demo")
        {
            Demo.Command,
            Server.Command,
            Submit.Command,
        };
        foreach (var command in Tasks.All)
        {
            Root.Add(command);
        }
        Root.Add(DeadLetter.Command);
        Root.Add(Secrets.Command);
        Root.Add(Audit.Command);
        Root.Add(Users.User);
        Root.Add(Users.Key);
        Root.Add(Workload.Command);
        Root.Add(Images.Command);
    }

    public RootCommand Root { get; }

    public ServerCommands Server { get; }

    public WorkloadCommands Workload { get; }

    public SubmitCommands Submit { get; }

    public TaskCommands Tasks { get; }

    public DeadLetterCommands DeadLetter { get; }

    public DemoCommands Demo { get; }

    public SecretCommands Secrets { get; }

    public AuditCommands Audit { get; }

    public UserCommands Users { get; }

    public ImageCommands Images { get; }

    public ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, ParserConfiguration);

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var invocation = new InvocationConfiguration
        {
            Output = _environment.Out,
            Error = _environment.Error,
            EnableDefaultExceptionHandler = false,

            // Program owns SIGINT/SIGTERM and cancels the token; the server needs more than a fixed grace
            // period to drain, so System.CommandLine must not cut it short.
            ProcessTerminationTimeout = null,
        };

        if (args.Count == 0)
        {
            await Parse(["--help"]).InvokeAsync(invocation, cancellationToken);
            return ExitCodes.Usage;
        }

        try
        {
            var parseResult = Parse(args);
            if (parseResult.Action is ParseErrorAction)
            {
                _environment.Error.WriteLine($"error: {DescribeParseErrors(parseResult)} (see '{CommandPath(parseResult.CommandResult)} --help')");
                return ExitCodes.Usage;
            }

            return await parseResult.InvokeAsync(invocation, cancellationToken);
        }
        catch (CliException e)
        {
            return Fail(e.Message, e.ExitCode, e);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            return Fail("interrupted", ExitCodes.Cancelled, e);
        }
        catch (Exception e)
        {
            return Fail(e.Message, ExitCodes.Failure, e);
        }
    }

    /// <summary>
    /// All parse errors on one line. "Required command was not provided" only says the verb is missing, which
    /// the more specific error (an unknown verb) already implies, so it is shown only when alone.
    /// </summary>
    private static string DescribeParseErrors(ParseResult parseResult)
    {
        var messages = parseResult.Errors.Select(e => PlainTypeNames(OneLine(e.Message)).TrimEnd('.')).Distinct().ToList();
        var specific = messages.Where(m => !m.StartsWith("Required command was not provided", StringComparison.Ordinal)).ToList();
        return string.Join("; ", specific.Count > 0 ? specific : messages);
    }

    private int Fail(string message, int exitCode, Exception exception)
    {
        _environment.Error.WriteLine($"error: {message}");
        if (_environment.Variable("SKIFF_DEBUG") is not null)
        {
            _environment.Error.WriteLine(exception.ToString());
        }
        return exitCode;
    }

    /// <summary>
    /// System.CommandLine names the CLR type it could not convert to ("as expected type
    /// 'System.Nullable`1[System.Int32]'" for --priority abc); a user needs to hear what to type instead.
    /// </summary>
    private static string PlainTypeNames(string message) => message
        .Replace("as expected type 'System.Nullable`1[System.Int32]'", "as a whole number", StringComparison.Ordinal)
        .Replace("as expected type 'System.Int32'", "as a whole number", StringComparison.Ordinal);

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? current = result; current is not null; current = current.Parent)
        {
            if (current is CommandResult command && command.Command is not RootCommand)
            {
                names.Add(command.Command.Name);
            }
        }
        names.Add("skiff");
        names.Reverse();
        return string.Join(' ', names);
    }
}
