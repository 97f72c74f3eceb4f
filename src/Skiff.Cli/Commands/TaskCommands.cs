using System.CommandLine;
using Skiff.Cli.Client;
using Skiff.Core.Tasks;

namespace Skiff.Cli.Commands;

/// <summary><c>skiff status</c>, <c>list</c>, <c>logs</c> and <c>cancel</c>: looking at and stopping tasks.</summary>
internal sealed class TaskCommands
{
    private const int DefaultListLimit = 20;

    private readonly CliEnvironment _environment;
    private readonly ClientOptions _client;

    public TaskCommands(CliEnvironment environment, ClientOptions client)
    {
        _environment = environment;
        _client = client;
        Status = CreateStatus();
        List = CreateList();
        Logs = CreateLogs();
        Cancel = CreateCancel();
    }

    public Command Status { get; }

    public Command List { get; }

    public Command Logs { get; }

    public Command Cancel { get; }

    public IEnumerable<Command> All => [Status, List, Logs, Cancel];

    private static Argument<string> TaskId() => new("ID") { Description = "Task id" };

    private static Option<bool> Json() => new("--json") { Description = "Print the API's JSON instead of text" };

    private Command CreateStatus()
    {
        var id = TaskId();
        var json = Json();
        var command = new Command("status", "Show one task") { id, json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var task = await client.GetTaskAsync(parseResult.GetRequiredValue(id), cancellationToken);
            if (parseResult.GetValue(json))
            {
                _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(task));
            }
            else
            {
                TaskOutput.WriteDetails(_environment.Out, task);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateList()
    {
        var status = new Option<string?>("--status") { Description = "Only tasks in this status", HelpName = "S" };
        status.AcceptOnlyFromAmong([.. Enum.GetValues<TaskState>().Select(s => s.ToWire())]);
        var limit = new Option<int>("--limit") { Description = "How many tasks, newest first", HelpName = "N", DefaultValueFactory = _ => DefaultListLimit };
        limit.Validators.Add(result => OptionValidators.AtLeastOne(result, "--limit"));
        var json = Json();
        var command = new Command("list", "List tasks, newest first") { status, limit, json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var wanted = parseResult.GetValue(limit);
            var statusFilter = parseResult.GetValue(status);
            var tasks = await CollectAsync(wanted, (remaining, cursor) => client.ListTasksAsync(statusFilter, remaining, cursor, cancellationToken));
            WriteList(tasks, parseResult.GetValue(json), showError: false);
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateLogs()
    {
        var id = TaskId();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new output until the task ends" };
        var command = new Command("logs", "Print a task's output") { follow, id };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            await client.CopyLogsAsync(parseResult.GetRequiredValue(id), parseResult.GetValue(follow), _environment.Out, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateCancel()
    {
        var id = TaskId();
        var command = new Command("cancel", "Cancel a queued or running task") { id };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var task = await client.CancelAsync(parseResult.GetRequiredValue(id), cancellationToken);
            _environment.Out.WriteLine($"{task.TaskId} {task.Status}");
            return ExitCodes.Success;
        });
        return command;
    }

    internal void WriteList(IReadOnlyList<TaskDocument> tasks, bool json, bool showError)
    {
        if (json)
        {
            _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(tasks));
        }
        else if (tasks.Count == 0)
        {
            _environment.Error.WriteLine("no tasks");
        }
        else
        {
            TaskOutput.WriteTable(_environment, tasks, showError);
        }
    }

    /// <summary>Follows cursors until <paramref name="wanted"/> items are collected, whatever page size the server uses.</summary>
    internal static async Task<IReadOnlyList<TaskDocument>> CollectAsync(int wanted, Func<int, string?, Task<TaskPage>> fetchPage)
    {
        var items = new List<TaskDocument>();
        string? cursor = null;
        do
        {
            var page = await fetchPage(wanted - items.Count, cursor);
            items.AddRange(page.Items.Take(wanted - items.Count));
            cursor = page.NextCursor;
            if (page.Items.Count == 0)
            {
                break;
            }
        }
        while (cursor is not null && items.Count < wanted);
        return items;
    }
}
