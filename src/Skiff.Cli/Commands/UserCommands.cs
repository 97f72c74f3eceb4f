using System.CommandLine;
using System.Globalization;
using Skiff.Cli.Client;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff user add|ls|rm</c> and <c>skiff key create|ls|revoke</c>. USER is a user id (u_...) or, for
/// admins, a user name.
/// </summary>
internal sealed class UserCommands
{
    private readonly CliEnvironment _environment;
    private readonly ClientOptions _client;

    public UserCommands(CliEnvironment environment, ClientOptions client)
    {
        _environment = environment;
        _client = client;
        User = new Command("user", "Users: who may call the API, with which role (admin only)") { CreateAdd(), CreateList(), CreateRemove() };
        Key = new Command("key", "API keys of a user") { CreateKey(), CreateKeyList(), CreateRevoke() };
    }

    public Command User { get; }

    public Command Key { get; }

    private static Argument<string> UserArgument() => new("USER") { Description = "User id (u_...) or user name" };

    private static Option<bool> Json() => new("--json") { Description = "Print the API's JSON instead of text" };

    private Command CreateAdd()
    {
        var name = new Argument<string>("NAME") { Description = "Letters, digits, '.', '_', '-' or '@'" };
        var role = new Option<string>("--role") { Description = "admin, user or viewer (reads only)", HelpName = "ROLE", DefaultValueFactory = _ => "user" };
        role.AcceptOnlyFromAmong("admin", "user", "viewer");
        var maxRunning = new Option<int?>("--max-running") { Description = "At most this many of their tasks run at once (default: the server's)", HelpName = "N" };
        var maxQueued = new Option<int?>("--max-queued") { Description = "At most this many of their tasks wait at once (default: the server's)", HelpName = "N" };
        var json = Json();
        var command = new Command("add", "Create a user") { name, role, maxRunning, maxQueued, json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var user = await client.CreateUserAsync(new CreateUserRequest(parseResult.GetRequiredValue(name), parseResult.GetRequiredValue(role),
                parseResult.GetValue(maxRunning), parseResult.GetValue(maxQueued)), cancellationToken);
            _environment.Out.WriteLine(parseResult.GetValue(json) ? SkiffJsonContext.ToIndentedJson(user) : $"{user.Id} {user.Name} {user.Role}");
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateList()
    {
        var json = Json();
        var command = new Command("ls", "List users, disabled ones included") { json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var users = await client.ListUsersAsync(cancellationToken);
            if (parseResult.GetValue(json))
            {
                _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(users));
                return ExitCodes.Success;
            }
            PlainTable.Write(_environment.Out, ["ID", "NAME", "ROLE", "MAX-RUNNING", "MAX-QUEUED", "CREATED", "DISABLED"],
                users.Items.Select(u => (IReadOnlyList<string>)
                [
                    u.Id, u.Name, u.Role, Quota(u.MaxRunning), Quota(u.MaxQueued), Time(u.CreatedAt), u.DisabledAt is { } d ? Time(d) : "-",
                ]).ToList());
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateRemove()
    {
        var user = UserArgument();
        var cancelTasks = new Option<bool>("--cancel-tasks") { Description = "Also cancel their queued and running tasks" };
        var command = new Command("rm", "Disable a user: their keys stop working at once") { user, cancelTasks };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var id = await client.ResolveUserIdAsync(parseResult.GetRequiredValue(user), cancellationToken);
            var disabled = await client.DisableUserAsync(id, parseResult.GetValue(cancelTasks), cancellationToken);
            _environment.Out.WriteLine($"{disabled.Id} {disabled.Name} disabled");
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateKey()
    {
        var user = UserArgument();
        var name = new Option<string>("--name") { Description = "What the key is for", HelpName = "NAME", DefaultValueFactory = _ => "cli" };
        var expires = new Option<string?>("--expires") { Description = "When the key stops working (ISO 8601, e.g. 2027-01-31T00:00:00Z)", HelpName = "TIME" };
        var json = Json();
        var command = new Command("create", "Create an API key; it is printed once and never shown again") { user, name, expires, json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var id = await client.ResolveUserIdAsync(parseResult.GetRequiredValue(user), cancellationToken);
            var key = await client.CreateKeyAsync(id, new CreateKeyRequest(parseResult.GetRequiredValue(name), parseResult.GetValue(expires)), cancellationToken);
            if (parseResult.GetValue(json))
            {
                _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(key));
                return ExitCodes.Success;
            }
            // The key alone on stdout, so KEY=$(skiff key create alice) works; the note goes to stderr.
            _environment.Out.WriteLine(key.Key);
            _environment.Error.WriteLine($"key {key.Id} ({key.Name}) for {id}: store it now, it is not shown again");
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateKeyList()
    {
        var user = UserArgument();
        var json = Json();
        var command = new Command("ls", "List a user's keys (prefixes only, never the keys)") { user, json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var id = await client.ResolveUserIdAsync(parseResult.GetRequiredValue(user), cancellationToken);
            var keys = await client.ListKeysAsync(id, cancellationToken);
            if (parseResult.GetValue(json))
            {
                _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(keys));
                return ExitCodes.Success;
            }
            PlainTable.Write(_environment.Out, ["ID", "NAME", "PREFIX", "CREATED", "EXPIRES", "REVOKED"],
                keys.Items.Select(k => (IReadOnlyList<string>)
                [
                    k.Id, k.Name, k.Prefix, Time(k.CreatedAt), k.ExpiresAt is { } e ? Time(e) : "-", k.RevokedAt is { } r ? Time(r) : "-",
                ]).ToList());
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateRevoke()
    {
        var user = UserArgument();
        var keyId = new Argument<string>("KEY-ID") { Description = "The key's id (k_...), from skiff key ls" };
        var command = new Command("revoke", "Revoke a key: the next request with it is refused") { user, keyId };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var id = await client.ResolveUserIdAsync(parseResult.GetRequiredValue(user), cancellationToken);
            await client.RevokeKeyAsync(id, parseResult.GetRequiredValue(keyId), cancellationToken);
            _environment.Out.WriteLine($"{parseResult.GetRequiredValue(keyId)} revoked");
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Quota(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "default";

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
