using System.CommandLine;
using Skiff.Cli.Client;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff submit --type T [--param k=v]... [options]</c> or <c>skiff submit [options] -- CMD ARGS...</c>:
/// queues a task and prints its id, or with <c>--wait</c> follows it to the end and exits with its exit code.
/// </summary>
internal sealed class SubmitCommands
{
    private readonly CliEnvironment _environment;
    private readonly ClientOptions _client;

    public SubmitCommands(CliEnvironment environment, ClientOptions client)
    {
        _environment = environment;
        _client = client;

        Command = new Command("submit", "Submit a task: a built-in workload (--type) or a command (after --)")
        {
            Type, Parameters, Priority, Timeout, Cpu, Memory, MaxAttempts, Image, PidsLimit, EphemeralStorage, User, Env, Secrets, Metadata, IdempotencyKey, Wait,
        };
        client.AddTo(Command);
        Command.Add(CommandLine);
        Command.SetAction(RunAsync);
    }

    public Command Command { get; }

    public Option<string?> Type { get; } = new("--type") { Description = "Built-in workload type, e.g. cpu-intensive", HelpName = "T" };

    public Option<string[]> Parameters { get; } = new("--param") { Description = "Workload parameter (repeatable)", HelpName = "k=v" };

    public Option<int?> Priority { get; } = new("--priority") { Description = "0-10; 5 and above use the priority queue", HelpName = "P" };

    public Option<int?> Timeout { get; } = new("--timeout") { Description = "Timeout per attempt, in seconds", HelpName = "S" };

    public Option<int?> Cpu { get; } = new("--cpu") { Description = "CPU units (1024 = one core)", HelpName = "N" };

    public Option<int?> Memory { get; } = new("--memory") { Description = "Memory limit in MB", HelpName = "MB" };

    public Option<int?> MaxAttempts { get; } = new("--max-attempts") { Description = "Attempts before the task is dead-lettered", HelpName = "N" };

    public Option<string?> Image { get; } = new("--image") { Description = "Container image (when isolated)", HelpName = "NAME" };

    public Option<int?> PidsLimit { get; } = new("--pids-limit") { Description = "At most this many processes in the container (when isolated)", HelpName = "N" };

    public Option<int?> EphemeralStorage { get; } = new("--ephemeral-storage") { Description = "Size of the container's writable /tmp in MB (when isolated)", HelpName = "MB" };

    public Option<string?> User { get; } = new("--user") { Description = "uid[:gid] the command runs as in the container (when isolated; default 65534)", HelpName = "UID[:GID]" };

    public Option<string[]> Env { get; } = new("--env") { Description = "Environment variable for the task (repeatable)", HelpName = "K=V" };

    public Option<string[]> Secrets { get; } = new("--secret") { Description = "Environment variable set from a secret, by name (repeatable)", HelpName = "VAR=SECRET" };

    public Option<string[]> Metadata { get; } = new("--metadata") { Description = "Metadata stored with the task (repeatable)", HelpName = "K=V" };

    public Option<string?> IdempotencyKey { get; } = new("--idempotency-key") { Description = "Submitting twice with the same key creates one task", HelpName = "KEY" };

    public Option<bool> Wait { get; } = new("--wait") { Description = "Wait for the task to finish, print its result and exit with its exit code" };

    /// <summary>Everything after <c>--</c> (or after the first word that is not an option) is the command.</summary>
    public Argument<string[]> CommandLine { get; } = new("command")
    {
        Description = "The command to run and its arguments, after --",
        Arity = ArgumentArity.ZeroOrMore,
        CaptureRemainingTokens = true,
    };

    /// <summary>The request body for the parsed command line; a usage error (exit code 2) when it is incomplete or malformed.</summary>
    public SubmitTaskRequest BuildRequest(ParseResult parseResult)
    {
        var type = parseResult.GetValue(Type);
        var command = parseResult.GetValue(CommandLine) ?? [];
        var parameters = ParsePairs(parseResult.GetValue(Parameters), "--param");

        if (string.IsNullOrWhiteSpace(type) && command.Length == 0)
        {
            throw CliException.Usage("nothing to run: pass --type TYPE or a command after -- (e.g. skiff submit -- echo hello)");
        }
        if (string.IsNullOrWhiteSpace(type) && parameters is not null)
        {
            throw CliException.Usage("--param sets parameters of a built-in workload and needs --type");
        }

        return new SubmitTaskRequest
        {
            Type = string.IsNullOrWhiteSpace(type) ? null : type,
            Command = command.Length == 0 ? null : command,
            Parameters = parameters,
            Image = parseResult.GetValue(Image),
            Priority = parseResult.GetValue(Priority),
            TimeoutSeconds = parseResult.GetValue(Timeout),
            Cpu = parseResult.GetValue(Cpu),
            MemoryMb = parseResult.GetValue(Memory),
            MaxAttempts = parseResult.GetValue(MaxAttempts),
            PidsLimit = parseResult.GetValue(PidsLimit),
            EphemeralStorageMb = parseResult.GetValue(EphemeralStorage),
            User = parseResult.GetValue(User),
            Env = ParsePairs(parseResult.GetValue(Env), "--env"),
            Secrets = ParsePairs(parseResult.GetValue(Secrets), "--secret"),
            Metadata = ParsePairs(parseResult.GetValue(Metadata), "--metadata"),
        };
    }

    /// <summary>
    /// <c>KEY=VALUE</c> pairs into a map, split at the first '=' so values may contain '='. A repeated key keeps
    /// its last value, as later flags override earlier ones. Null when none were given.
    /// </summary>
    public static Dictionary<string, string>? ParsePairs(IReadOnlyList<string>? values, string optionName)
    {
        if (values is null || values.Count == 0)
        {
            return null;
        }

        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var separator = value.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                throw CliException.Usage($"{optionName} expects KEY=VALUE, got '{value}'");
            }
            pairs[value[..separator]] = value[(separator + 1)..];
        }
        return pairs;
    }

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var request = BuildRequest(parseResult);
        using var client = _client.CreateClient(parseResult, _environment);
        var task = await client.SubmitAsync(request, parseResult.GetValue(IdempotencyKey), cancellationToken);
        if (!parseResult.GetValue(Wait))
        {
            // Only the id on stdout, so ID=$(skiff submit ...) works.
            _environment.Out.WriteLine(task.TaskId);
            return ExitCodes.Success;
        }

        return await new TaskWaiter(client, _environment).WaitAndReportAsync(task, cancellationToken);
    }
}
