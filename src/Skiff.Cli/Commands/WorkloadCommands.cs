using System.CommandLine;
using Skiff.Runtime.Workloads;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff workload TYPE [--name value ...]</c>: runs a built-in workload in this process. This is what a
/// task of a built-in type executes, so it behaves the same in a plain process and in a container.
/// </summary>
internal sealed class WorkloadCommands
{
    private readonly CliEnvironment _environment;

    public WorkloadCommands(CliEnvironment environment)
    {
        _environment = environment;
        Command = new Command(WorkloadCommand.Verb, "Run a built-in workload in this process (what tasks of a built-in type execute)") { Arguments };
        Command.SetAction(RunAsync);
    }

    public Command Command { get; }

    /// <summary>TYPE and its parameters, taken verbatim: the parameter names differ per type.</summary>
    public Argument<string[]> Arguments { get; } = new("TYPE [--name value ...]")
    {
        Description = "The workload type, then its parameters as --name value pairs",
        Arity = ArgumentArity.OneOrMore,
        CaptureRemainingTokens = true,
    };

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var arguments = parseResult.GetValue(Arguments) ?? [];
        if (!WorkloadCommand.TryParseArguments(arguments, out var type, out var parameters, out var error))
        {
            throw CliException.Usage(error ?? "invalid workload arguments");
        }
        return await WorkloadRunner.RunAsync(type, parameters, _environment.Out, _environment.Error, cancellationToken);
    }
}
