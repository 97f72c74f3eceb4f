using Microsoft.Data.Sqlite;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary>
/// <c>skiff audit ls</c> and <c>skiff audit verify</c> as a user runs them, against a server of their own: the
/// test edits the server's file behind its back to break the chain.
/// </summary>
public sealed class AuditCliTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "sk_e2e_audit_0123456789abcdefghijklmnop";
    private static readonly TimeSpan CommandDeadline = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _directory = new();
    private ServerProcess? _server;

    private ServerProcess Server => _server ?? throw new InvalidOperationException("the server is not started");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory.Combine("cwd"));
        _server = await ServerProcess.StartAsync(new ServerLaunch(_directory.Combine("data"), _directory.Path, AdminKey) { MaxWorkers = 0 });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task AuditVerifyAndLs_IntactThenOneRecordChangedInTheFile_ExitZeroThenOneNamingTheRecord()
    {
        using (var api = Server.CreateApi())
        {
            await api.SubmitAsync(SkiffApi.CommandTask(["true"]));
            await api.SubmitAsync(SkiffApi.CommandTask(["true"]));
        }
        var refused = await RunAsync("cancel", "t_00000000000000000000000000");
        Assert.Equal(1, refused.ExitCode);
        // Records are stored a few milliseconds after the answers (see AuditQueue).
        await Eventually.UntilAsync(() => AuditRecordCountAsync(), n => n == 3, CommandDeadline, "3 audit records");

        var intact = await RunAsync("audit", "verify");
        var listed = await RunAsync("audit", "ls", "--action", "tasks.submit", "--since", "1h");
        Tamper("UPDATE audit_log SET target = 't_forged' WHERE seq = 2");
        var broken = await RunAsync("audit", "verify");

        Assert.True(intact.ExitCode == 0, intact.ToString());
        Assert.Equal(["audit chain intact: 3 records"], intact.StdoutLines);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Matches(@"^SEQ\s+TIME\s+USER\s+KEY\s+ACTION\s+TARGET\s+OUTCOME\s+SOURCE$", listed.StdoutLines[0]);
        var rows = listed.StdoutLines.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        // Newest first; the time column holds a date and a time.
        Assert.Equal(["2", "1"], rows.Select(r => r[0]));
        Assert.All(rows, r => Assert.Equal(["u_admin", "tasks.submit", "201", "127.0.0.1"], [r[3], r[5], r[7], r[8]]));
        Assert.Equal(1, broken.ExitCode);
        Assert.Equal("error: audit chain broken at record 2", broken.AssertOneErrorLine());
    }

    private Task<ProcessRun> RunAsync(params string[] arguments) =>
        ProcessRun.RunAsync(
            SkiffProgram.SkiffStartInfo(arguments, _directory.Combine("cwd"), new Dictionary<string, string?>
            {
                ["SKIFF_URL"] = Server.BaseUri.AbsoluteUri.TrimEnd('/'),
                ["SKIFF_API_KEY"] = AdminKey,
            }),
            CommandDeadline);

    private async Task<long> AuditRecordCountAsync()
    {
        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        var verification = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("audit/verify"))!;
        return (long)verification["records"]!;
    }

    private void Tamper(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(Server.Launch.DataDirectory, "skiff.db"), Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DROP TRIGGER audit_log_no_update; " + sql;
        command.ExecuteNonQuery();
    }
}
