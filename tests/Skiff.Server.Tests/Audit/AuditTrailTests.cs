using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Audit;

/// <summary>An API-only server of its own, so the audit log holds only what these tests did.</summary>
public sealed class AuditServerFixture : IAsyncLifetime
{
    private SkiffTestServer? _server;

    public SkiffTestServer Server => _server ?? throw new InvalidOperationException("the fixture is not initialised");

    public async Task InitializeAsync() => _server = await SkiffTestServer.StartAsync(maxWorkers: 0);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// The audit trail through the real HTTP API: every mutating call is recorded with who, which key, what, on
/// which target, how it ended and from where, before its answer reaches the caller (so these tests read the log
/// right after a call, without waiting); reads are not recorded; only admins read the log.
/// </summary>
public sealed class AuditTrailTests(AuditServerFixture fixture) : IClassFixture<AuditServerFixture>
{
    private const string SomeTask = "t_00000000000000000000000000";

    private SkiffTestServer Server => fixture.Server;

    [Fact]
    public async Task Submit_AsUser_RecordedWithUserKeyActionTaskIdOutcomeSourceAndTime()
    {
        using var user = await Server.CreateUserAsync("submitter");
        var head = await SettledHeadAsync();
        var before = DateTimeOffset.UtcNow;

        using var response = await Server.PostJsonAsync("/tasks", """{"command":["true"]}""", client: user.Client);
        var task = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created);
        var after = DateTimeOffset.UtcNow;

        var record = Assert.Single(await RecordsSinceAsync(head));
        Assert.Equal(user.Id, (string?)record["userId"]);
        Assert.Equal(user.KeyId, (string?)record["keyId"]);
        Assert.Equal("tasks.submit", (string?)record["action"]);
        Assert.Equal((string)task["taskId"]!, (string?)record["target"]);
        Assert.Equal(201, (int)record["outcome"]!);
        Assert.Equal("127.0.0.1", (string?)record["source"]);
        var at = DateTimeOffset.Parse((string)record["at"]!, CultureInfo.InvariantCulture);
        Assert.InRange(at, before.AddMilliseconds(-1), after);
        Assert.Matches("^[0-9a-f]{64}$", (string)record["hash"]!);
    }

    [Fact]
    public async Task CancelAndRedrive_AcceptedAndRefused_EachRecordedWithTheTaskIdAndStatus()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));
        var head = await SettledHeadAsync();

        using (var cancelled = await Server.PostAsync($"/tasks/{taskId}/cancel"))
        using (var again = await Server.PostAsync($"/tasks/{taskId}/cancel"))
        using (var redrive = await Server.PostAsync($"/dead-letter/{taskId}/redrive"))
        using (var unknown = await Server.PostAsync($"/dead-letter/{SomeTask}/redrive"))
        {
            Assert.Equal(
                [HttpStatusCode.OK, HttpStatusCode.Conflict, HttpStatusCode.Conflict, HttpStatusCode.NotFound],
                [cancelled.StatusCode, again.StatusCode, redrive.StatusCode, unknown.StatusCode]);
        }

        var records = await RecordsSinceAsync(head);
        Assert.Equal(
            [("tasks.cancel", taskId, 200), ("tasks.cancel", taskId, 409), ("deadletter.redrive", taskId, 409), ("deadletter.redrive", SomeTask, 404)],
            records.Select(r => ((string)r["action"]!, (string)r["target"]!, (int)r["outcome"]!)));
        Assert.All(records, r => Assert.Equal("u_admin", (string?)r["userId"]));
        Assert.All(records, r => Assert.StartsWith("k_", (string?)r["keyId"], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_InvalidBody_Recorded400WithoutTarget()
    {
        var head = await SettledHeadAsync();

        using var response = await Server.PostJsonAsync("/tasks", """{"command":["true"],"priority":99}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var record = Assert.Single(await RecordsSinceAsync(head));
        Assert.Equal(("tasks.submit", 400, "u_admin"), ((string)record["action"]!, (int)record["outcome"]!, (string?)record["userId"]));
        Assert.Null((string?)record["target"]);
    }

    [Theory]
    [InlineData("sk_not-a-real-key")]
    [InlineData(null)]
    public async Task Cancel_UnknownOrMissingKey_Recorded401WithoutUserOrKey(string? key)
    {
        var head = await SettledHeadAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/tasks/{SomeTask}/cancel");
        request.Headers.Authorization = key is null ? null : new AuthenticationHeaderValue("Bearer", key);

        using var response = await Server.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var record = Assert.Single(await RecordsSinceAsync(head));
        Assert.Null((string?)record["userId"]);
        Assert.Null((string?)record["keyId"]);
        Assert.Equal(("tasks.cancel", SomeTask, 401, "127.0.0.1"),
            ((string)record["action"]!, (string?)record["target"], (int)record["outcome"]!, (string?)record["source"]));
    }

    [Fact]
    public async Task Submit_AsViewer_Recorded403WithTheViewer()
    {
        using var viewer = await Server.CreateUserAsync("viewer", role: "viewer");
        var head = await SettledHeadAsync();

        using var response = await Server.PostJsonAsync("/tasks", """{"command":["true"]}""", client: viewer.Client);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var record = Assert.Single(await RecordsSinceAsync(head));
        Assert.Equal((viewer.Id, viewer.KeyId, "tasks.submit", 403),
            ((string?)record["userId"], (string?)record["keyId"], (string)record["action"]!, (int)record["outcome"]!));
    }

    [Theory]
    [InlineData("POST", "/no-such-endpoint", 404)]
    [InlineData("DELETE", "/tasks", 405)]
    [InlineData("PUT", "/tasks/t_1/cancel", 405)]
    public async Task MutatingCall_NoMatchingEndpoint_RecordedAsUnmatchedWithThePath(string method, string path, int status)
    {
        var head = await SettledHeadAsync();

        using var response = await Server.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path + "?secret=query-marker"));

        Assert.Equal(status, (int)response.StatusCode);
        var record = Assert.Single(await RecordsSinceAsync(head));
        Assert.Equal(("unmatched", path, status), ((string)record["action"]!, (string?)record["target"], (int)record["outcome"]!));
    }

    [Fact]
    public async Task UserEndpoints_MappedWithoutAuditCode_GetDerivedActionNames()
    {
        var head = await SettledHeadAsync();

        using var user = await Server.CreateUserAsync("named");

        var records = await RecordsSinceAsync(head);
        Assert.Equal([("users.create", user.Id, 201), ("users.keys.create", user.Id, 201)],
            records.Select(r => ((string)r["action"]!, (string?)r["target"], (int)r["outcome"]!)));
    }

    [Fact]
    public async Task Reads_AnyGetEndpoint_RecordNothing()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));
        var head = await SettledHeadAsync();

        foreach (var path in new[] { "/tasks", $"/tasks/{taskId}", $"/tasks/{taskId}/logs", "/dead-letter", "/audit", "/audit/verify", "/health", "/no-such" })
        {
            using var response = await Server.Client.GetAsync(path);
        }
        using (await Server.Anonymous.GetAsync("/tasks"))
        {
        }

        Assert.Empty(await RecordsSinceAsync(head));
    }

    [Fact]
    public async Task Submit_SecretsInBodyQueryAndHeaders_NeverInTheAuditLog()
    {
        var head = await SettledHeadAsync();
        var body = TaskJson.Command("true")
            .With("env", new JsonObject { ["X"] = "body-marker-123" })
            .With("metadata", new JsonObject { ["note"] = "metadata-marker-456" });

        using (var response = await Server.PostJsonAsync("/tasks?token=query-marker-789", body.ToJsonString(), idempotencyKey: "header-marker-000"))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        using (var refused = await Server.PostJsonAsync("/tasks", """{"command":["true"],"env":{"X":"body-marker-123"},"priority":99}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        Assert.Equal(2, (await RecordsSinceAsync(head)).Count);
        using var all = await Server.Client.GetAsync("/audit?limit=500");
        var text = await all.Content.ReadAsStringAsync();
        foreach (var marker in new[] { "body-marker-123", "metadata-marker-456", "query-marker-789", "header-marker-000" })
        {
            Assert.DoesNotContain(marker, text, StringComparison.Ordinal);
            Assert.DoesNotContain(marker, RawAuditTable(Server.DataDirectory), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("/audit")]
    [InlineData("/audit/verify")]
    public async Task AuditEndpoints_NonAdmin_403AndAnonymous_401(string path)
    {
        using var user = await Server.CreateUserAsync("curious");

        using var asUser = await user.Client.GetAsync(path);
        using var anonymous = await Server.Anonymous.GetAsync(path);

        await ProblemAssert.IsProblemAsync(asUser, HttpStatusCode.Forbidden, "admin");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task List_FilteredByUserAndPaged_EveryRecordOnceNewestFirst()
    {
        using var user = await Server.CreateUserAsync("paged");
        var head = await SettledHeadAsync();
        for (var i = 0; i < 5; i++)
        {
            await Server.SubmitIdAsync(TaskJson.Command("true"));
            using var response = await Server.PostJsonAsync("/tasks", """{"command":["true"]}""", client: user.Client);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        var mine = (await RecordsSinceAsync(head)).Where(r => (string?)r["userId"] == user.Id).Select(r => (long)r["seq"]!).ToList();

        var seen = new List<JsonNode>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var page = await Server.GetJsonAsync($"/audit?userId={user.Id}&limit=2{(cursor is null ? "" : "&cursor=" + cursor)}");
            seen.AddRange(page["items"]!.AsArray().Select(r => r!));
            cursor = (string?)page["nextCursor"];
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(5, mine.Count);
        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Reverse(mine), seen.Select(r => (long)r["seq"]!));
        Assert.All(seen, r => Assert.Equal(user.Id, (string?)r["userId"]));
    }

    [Fact]
    public async Task List_FilteredByActionAndTime_OnlyMatchingRecords()
    {
        var taskId = await Server.SubmitIdAsync(TaskJson.Command("true"));
        var head = await SettledHeadAsync();
        using (await Server.PostAsync($"/tasks/{taskId}/cancel"))
        using (await Server.PostAsync($"/tasks/{taskId}/cancel"))
        {
        }
        var recent = await RecordsSinceAsync(head);
        var submitted = (await Server.GetJsonAsync($"/audit?action=tasks.submit&limit=1"))["items"]![0]!;
        var submittedAt = DateTimeOffset.Parse((string)submitted["at"]!, CultureInfo.InvariantCulture);

        var since = Uri.EscapeDataString(submittedAt.ToString("O", CultureInfo.InvariantCulture));
        var cancels = (await Server.GetJsonAsync($"/audit?action=tasks.cancel&since={since}&limit=500"))["items"]!.AsArray();
        var future = (await Server.GetJsonAsync($"/audit?since={DateTimeOffset.UtcNow.AddHours(1):yyyy-MM-dd'T'HH:mm:ss'Z'}"))["items"]!.AsArray();
        var past = (await Server.GetJsonAsync("/audit?until=2000-01-01T00:00:00Z"))["items"]!.AsArray();
        var submits = (await Server.GetJsonAsync("/audit?action=tasks.submit&limit=500"))["items"]!.AsArray();

        Assert.Equal(taskId, (string?)submitted["target"]);
        Assert.All(cancels, r => Assert.Equal("tasks.cancel", (string?)r!["action"]));
        Assert.All(cancels, r => Assert.True(DateTimeOffset.Parse((string)r!["at"]!, CultureInfo.InvariantCulture) >= submittedAt));
        Assert.Equal(recent.Select(r => (long)r["seq"]!).Reverse(), cancels.Where(r => (string?)r!["target"] == taskId).Select(r => (long)r!["seq"]!));
        Assert.Empty(future);
        Assert.Empty(past);
        Assert.All(submits, r => Assert.Equal("tasks.submit", (string?)r!["action"]));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=501", "limit")]
    [InlineData("limit=many", "limit")]
    [InlineData("cursor=-5", "cursor")]
    [InlineData("cursor=abc", "cursor")]
    [InlineData("since=yesterday", "since")]
    [InlineData("since=2025-13-01T00:00:00Z", "since")]
    [InlineData("until=1700000000", "until")]
    [InlineData("since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z", "until")]
    [InlineData("action=Tasks%20Submit", "action")]
    [InlineData("action=tasks..submit", "action")]
    public async Task List_BadFilterValue_400NamingTheField(string query, string field)
    {
        using var response = await Server.Client.GetAsync("/audit?" + query);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task List_UserIdTooLong_400NamingTheField()
    {
        using var response = await Server.Client.GetAsync("/audit?userId=" + new string('u', 201));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "userId");
    }

    [Fact]
    public async Task Verify_AfterCalls_IntactAndCountsEveryRecord()
    {
        await Server.SubmitIdAsync(TaskJson.Command("true"));
        var head = await SettledHeadAsync();
        var newest = (await Server.GetJsonAsync("/audit?limit=1"))["items"]![0]!;
        Assert.Equal(head, (long)newest["seq"]!);

        var result = await Server.GetJsonAsync("/audit/verify");

        Assert.True((bool)result["valid"]!);
        Assert.Equal(head, (long)result["records"]!);
        Assert.Null(result["firstBrokenSeq"]);
        Assert.Equal((string?)newest["hash"], (string?)result["lastHash"]);
    }

    [Fact]
    public async Task Verify_RecordChangedInTheFile_ReportsThatRecord()
    {
        // Its own server: this test breaks the chain on purpose.
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0);
        for (var i = 0; i < 4; i++)
        {
            await server.SubmitIdAsync(TaskJson.Command("true"));
        }
        await Eventually.UntilAsync(() => server.GetJsonAsync("/audit/verify"), r => (long)r["records"]! == 4, SkiffTestServer.DefaultWait,
            "4 audit records", r => r.ToJsonString(), SkiffTestServer.PollInterval);

        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(server.DataDirectory, "skiff.db"), Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET outcome = 500 WHERE seq = 2";
            command.ExecuteNonQuery();
        }
        var result = await server.GetJsonAsync("/audit/verify");

        Assert.False((bool)result["valid"]!);
        Assert.Equal(2, (long)result["firstBrokenSeq"]!);
        Assert.Equal(4, (long)result["records"]!);
    }

    /// <summary>
    /// The seq of the newest record once everything queued so far is stored: records are appended in the order
    /// calls were answered, so when a marker call's record shows up, every earlier call's record is there too.
    /// </summary>
    private async Task<long> SettledHeadAsync() => (long)(await MarkerAsync())["seq"]!;

    /// <summary>The records of the calls made after <paramref name="head"/>, oldest first (the marker left out).</summary>
    private async Task<List<JsonNode>> RecordsSinceAsync(long head)
    {
        var marker = await MarkerAsync();
        var records = await RecordsAfterAsync(head);
        Assert.Equal((long)marker["seq"]!, (long)records[^1]["seq"]!);
        return records[..^1];
    }

    /// <summary>Makes a call of its own (an unmatched POST) and waits until its record is stored; returns it.</summary>
    private async Task<JsonNode> MarkerAsync()
    {
        var path = "/audit-marker/" + Guid.NewGuid().ToString("N");
        using (var response = await Server.Client.PostAsync(path, content: null))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        return await Eventually.UntilAsync(
            async () => (await Server.GetJsonAsync("/audit?action=unmatched&limit=1"))["items"]!.AsArray().FirstOrDefault(),
            newest => (string?)newest?["target"] == path,
            SkiffTestServer.DefaultWait,
            $"the audit record of POST {path}",
            newest => newest?.ToJsonString() ?? "none",
            SkiffTestServer.PollInterval) ?? throw new InvalidOperationException("unreachable");
    }

    /// <summary>Every stored record after <paramref name="seq"/>, oldest first, following the cursor.</summary>
    private async Task<List<JsonNode>> RecordsAfterAsync(long seq)
    {
        var records = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var page = await Server.GetJsonAsync("/audit?limit=100" + (cursor is null ? "" : "&cursor=" + cursor));
            var items = page["items"]!.AsArray().Select(r => r!).ToList();
            records.AddRange(items.TakeWhile(r => (long)r["seq"]! > seq));
            cursor = items.Count > 0 && (long)items[^1]["seq"]! > seq ? (string?)page["nextCursor"] : null;
        }
        while (cursor is not null);
        records.Reverse();
        return records;
    }

    /// <summary>Every value of every audit row as text, read from the file itself.</summary>
    private static string RawAuditTable(string dataDirectory)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataDirectory, "skiff.db"), Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM audit_log";
        using var reader = command.ExecuteReader();
        var text = new StringBuilder();
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                text.Append(reader.GetValue(i) switch
                {
                    byte[] bytes => Encoding.UTF8.GetString(bytes),
                    var value => Convert.ToString(value, CultureInfo.InvariantCulture),
                }).Append('|');
            }
        }
        return text.ToString();
    }
}
