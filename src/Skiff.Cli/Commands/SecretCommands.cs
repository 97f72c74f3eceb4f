using System.CommandLine;
using System.Globalization;
using System.Text;
using Skiff.Cli.Client;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff secret set|ls|rm|rotate-key</c>. A value goes to the server and never comes back: <c>ls</c> shows names
/// and versions only. Tasks use secrets with <c>skiff submit --secret VAR=NAME</c>.
/// </summary>
internal sealed class SecretCommands
{
    private readonly CliEnvironment _environment;
    private readonly ClientOptions _client;

    public SecretCommands(CliEnvironment environment, ClientOptions client)
    {
        _environment = environment;
        _client = client;
        Command = new Command("secret", "Secrets: values stored encrypted and given to tasks as environment variables")
        {
            CreateSet(), CreateList(), CreateRemove(), CreateRotateKey(),
        };
    }

    public Command Command { get; }

    private static Argument<string> NameArgument() => new("NAME") { Description = "Letters, digits, '_', '.' or '-' (at most 256)" };

    private static Option<bool> Shared(string what) => new("--shared") { Description = $"{what} a shared secret, which every user's tasks may use (admin only)" };

    private Command CreateSet()
    {
        var name = NameArgument();
        var value = new Option<string?>("--value") { Description = "The value (visible in shell history and ps: prefer stdin or --from-file)", HelpName = "VALUE" };
        var fromFile = new Option<string?>("--from-file") { Description = "Read the value from this file, byte for byte", HelpName = "FILE" };
        var shared = Shared("Set");
        var command = new Command("set", "Create a secret or replace its value; without --value or --from-file the value is read from stdin (one trailing newline removed)")
        {
            name, value, fromFile, shared,
        };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var secretValue = await ReadValueAsync(parseResult.GetValue(value), parseResult.GetValue(fromFile), cancellationToken);
            using var client = _client.CreateClient(parseResult, _environment);
            var secret = await client.SetSecretAsync(parseResult.GetRequiredValue(name), secretValue, parseResult.GetValue(shared), cancellationToken);
            _environment.Out.WriteLine($"{secret.Name} {secret.Scope} version {secret.Version.ToString(CultureInfo.InvariantCulture)}");
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateList()
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var command = new Command("ls", "List your secrets and the shared ones (names and versions, never values)") { json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var secrets = await client.ListSecretsAsync(cancellationToken);
            if (parseResult.GetValue(json))
            {
                _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(secrets));
                return ExitCodes.Success;
            }
            PlainTable.Write(_environment.Out, ["NAME", "SCOPE", "VERSION", "UPDATED"],
                secrets.Items.Select(s => (IReadOnlyList<string>)
                [
                    s.Name, s.Scope, s.Version.ToString(CultureInfo.InvariantCulture),
                    s.UpdatedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ]).ToList());
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateRemove()
    {
        var name = NameArgument();
        var shared = Shared("Delete");
        var command = new Command("rm", "Delete a secret; tasks that name it fail when they next start") { name, shared };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            await client.DeleteSecretAsync(parseResult.GetRequiredValue(name), parseResult.GetValue(shared), cancellationToken);
            _environment.Out.WriteLine($"{parseResult.GetRequiredValue(name)} deleted");
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateRotateKey()
    {
        var command = new Command("rotate-key", "Seal every secret with a new master key and retire the old keys (admin only)");
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var rotation = await client.RotateSecretKeyAsync(cancellationToken);
            _environment.Out.WriteLine($"new key {rotation.ActiveKeyId}: {rotation.Resealed.ToString(CultureInfo.InvariantCulture)} secrets sealed again, " +
                $"removed keys: {List(rotation.RemovedKeyIds)}, kept keys: {List(rotation.KeptKeyIds)}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The value from exactly one source: --value, --from-file, or else stdin.</summary>
    private async Task<string> ReadValueAsync(string? value, string? file, CancellationToken cancellationToken)
    {
        if (value is not null && file is not null)
        {
            throw CliException.Usage("give the value with --value or --from-file, not both");
        }
        if (value is not null)
        {
            return value;
        }
        if (file is not null)
        {
            try
            {
                return await File.ReadAllTextAsync(_environment.FullPath(file), new UTF8Encoding(false, throwOnInvalidBytes: true), cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--from-file: cannot read {file}: {e.Message}", e);
            }
            catch (DecoderFallbackException e)
            {
                throw new CliException($"--from-file: {file} is not UTF-8 text", e);
            }
        }
        if (_environment.IsInputTerminal)
        {
            _environment.Error.WriteLine("Type the value, then press Ctrl-D:");
        }
        var text = await _environment.In.ReadToEndAsync(cancellationToken);
        return text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
    }

    private static string List(IReadOnlyList<string> ids) => ids.Count == 0 ? "none" : string.Join(", ", ids);
}
