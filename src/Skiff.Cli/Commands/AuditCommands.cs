using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Skiff.Cli.Client;

namespace Skiff.Cli.Commands;

/// <summary><c>skiff audit ls</c> and <c>skiff audit verify</c>: the audit trail of every change (admin).</summary>
internal sealed class AuditCommands
{
    private const int DefaultListLimit = 50;

    private readonly CliEnvironment _environment;
    private readonly ClientOptions _client;

    public AuditCommands(CliEnvironment environment, ClientOptions client)
    {
        _environment = environment;
        _client = client;
        Command = new Command("audit", "The audit trail: every call that changed something, or tried to (admin)") { CreateList(), CreateVerify() };
    }

    public Command Command { get; }

    private Command CreateList()
    {
        var user = new Option<string?>("--user") { Description = "Only calls by this user (id, or name)", HelpName = "U" };
        var action = new Option<string?>("--action") { Description = "Only this action, e.g. tasks.submit", HelpName = "A" };
        var since = new Option<string?>("--since")
        {
            Description = "Only calls from this time on: 2025-03-01T12:00:00Z (no offset: local time), or a duration ago: 30m, 2h, 7d",
            HelpName = "T",
        };
        since.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && ParseSince(result.Tokens[0].Value, DateTimeOffset.UnixEpoch) is null)
            {
                result.AddError($"--since: '{result.Tokens[0].Value}' is neither a time such as 2025-03-01T12:00:00Z nor a duration such as 2h");
            }
        });
        var limit = new Option<int>("--limit") { Description = "How many records, newest first", HelpName = "N", DefaultValueFactory = _ => DefaultListLimit };
        limit.Validators.Add(result => OptionValidators.AtLeastOne(result, "--limit"));
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var command = new Command("ls", "List audit records, newest first") { user, action, since, limit, json };
        command.Aliases.Add("list");
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var userId = parseResult.GetValue(user) is { Length: > 0 } u ? await client.ResolveUserIdAsync(u, cancellationToken) : null;
            var from = parseResult.GetValue(since) is { Length: > 0 } s ? ParseSince(s, _environment.Time.GetUtcNow()) : null;
            var wanted = parseResult.GetValue(limit);
            var records = new List<AuditRecordDocument>();
            string? cursor = null;
            do
            {
                var page = await client.ListAuditAsync(userId, parseResult.GetValue(action), from, wanted - records.Count, cursor, cancellationToken);
                records.AddRange(page.Items.Take(wanted - records.Count));
                cursor = page.Items.Count == 0 ? null : page.NextCursor;
            }
            while (cursor is not null && records.Count < wanted);
            Write(records, parseResult.GetValue(json));
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateVerify()
    {
        var command = new Command("verify", "Check the audit log's hash chain: exit 0 when intact, 1 when a record was changed or removed");
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var result = await client.VerifyAuditAsync(cancellationToken);
            if (!result.Valid)
            {
                throw new CliException($"audit chain broken at record {result.FirstBrokenSeq?.ToString(CultureInfo.InvariantCulture) ?? "?"}");
            }
            _environment.Out.WriteLine($"audit chain intact: {result.Records.ToString(CultureInfo.InvariantCulture)} record{(result.Records == 1 ? "" : "s")}");
            return ExitCodes.Success;
        });
        return command;
    }

    private void Write(IReadOnlyList<AuditRecordDocument> records, bool json)
    {
        if (json)
        {
            _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(records));
            return;
        }
        if (records.Count == 0)
        {
            _environment.Error.WriteLine("no audit records");
            return;
        }
        var rows = records.Select(r => (IReadOnlyList<string>)
        [
            r.Seq.ToString(CultureInfo.InvariantCulture),
            TaskOutput.Timestamp(r.At),
            r.UserId ?? "-",
            r.KeyId ?? "-",
            r.Action,
            r.Target ?? "-",
            r.Outcome.ToString(CultureInfo.InvariantCulture),
            r.Source ?? "-",
        ]).ToList();
        PlainTable.Write(_environment.Out, ["SEQ", "TIME", "USER", "KEY", "ACTION", "TARGET", "OUTCOME", "SOURCE"], rows);
    }

    /// <summary>An absolute time (no offset: local), or "30s", "15m", "2h", "7d" before <paramref name="now"/>; null when neither.</summary>
    internal static DateTimeOffset? ParseSince(string text, DateTimeOffset now)
    {
        text = text.Trim();
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? unit = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(1),
                'm' => TimeSpan.FromMinutes(1),
                'h' => TimeSpan.FromHours(1),
                'd' => TimeSpan.FromDays(1),
                _ => null,
            };
            if (unit is { } u && amount <= (long)(TimeSpan.FromDays(36_500) / u))
            {
                return now - u * amount;
            }
            return null;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var at) ? at : null;
    }
}
