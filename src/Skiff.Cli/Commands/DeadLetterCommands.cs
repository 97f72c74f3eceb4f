using System.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary><c>skiff dlq list</c> and <c>skiff dlq redrive ID</c>: tasks that used up their attempts.</summary>
internal sealed class DeadLetterCommands
{
    private const int DefaultListLimit = 100;

    private readonly CliEnvironment _environment;
    private readonly ClientOptions _client;
    private readonly TaskCommands _tasks;

    public DeadLetterCommands(CliEnvironment environment, ClientOptions client, TaskCommands tasks)
    {
        _environment = environment;
        _client = client;
        _tasks = tasks;
        Command = new Command("dlq", "The dead-letter queue: tasks that failed every attempt") { CreateList(), CreateRedrive() };
    }

    public Command Command { get; }

    private Command CreateList()
    {
        var limit = new Option<int>("--limit") { Description = "How many tasks, oldest first", HelpName = "N", DefaultValueFactory = _ => DefaultListLimit };
        limit.Validators.Add(result => OptionValidators.AtLeastOne(result, "--limit"));
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var command = new Command("list", "List dead-lettered tasks, oldest first") { limit, json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var tasks = await TaskCommands.CollectAsync(
                parseResult.GetValue(limit),
                (remaining, cursor) => client.ListDeadLetterAsync(remaining, cursor, cancellationToken));
            _tasks.WriteList(tasks, parseResult.GetValue(json), showError: true);
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateRedrive()
    {
        var id = new Argument<string>("ID") { Description = "Task id" };
        var command = new Command("redrive", "Queue a dead-lettered task again with fresh attempts") { id };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var task = await client.RedriveAsync(parseResult.GetRequiredValue(id), cancellationToken);
            _environment.Out.WriteLine($"{task.TaskId} {task.Status}");
            return ExitCodes.Success;
        });
        return command;
    }
}
