using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Secrets;

/// <summary>
/// /secrets on an API-only server (tasks stay queued): values go in and never come out, users see only their own
/// and the shared secrets, and every bad input is a problem naming the field with nothing stored.
/// </summary>
[Collection(IdleServerCollection.Name)]
public sealed class SecretApiTests(IdleServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    private static string NewName() => "db-" + Guid.NewGuid().ToString("N")[..12];

    private static string NewValue() => "v@l-" + Guid.NewGuid().ToString("N");

    private static string Body(string value) => new JsonObject { ["value"] = value }.ToJsonString();

    private Task<HttpResponseMessage> PutAsync(string rawName, string json, string query = "", HttpClient? client = null) =>
        (client ?? Server.Client).PutAsync($"/secrets/{rawName}{query}", new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task<string> ListTextAsync(HttpClient? client = null)
    {
        using var response = await (client ?? Server.Client).GetAsync("/secrets");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<JsonArray> ListAsync(HttpClient? client = null) => JsonNode.Parse(await ListTextAsync(client))!["items"]!.AsArray();

    private static JsonNode? Find(JsonArray items, string name, string scope = "user") =>
        items.SingleOrDefault(s => (string)s!["name"]! == name && (string)s["scope"]! == scope);

    private async Task<long> CountTasksAsync() => await Server.CountTasksAsync();

    [Fact]
    public async Task Put_NewSecret_201AnsweringNameAndVersionButNeverTheValue()
    {
        var (name, value) = (NewName(), NewValue());

        using var response = await PutAsync(name, Body(value));

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.DoesNotContain(value, text, StringComparison.Ordinal);
        var secret = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(name, (string)secret["name"]!);
        Assert.Equal("user", (string)secret["scope"]!);
        Assert.Equal(1, (int)secret["version"]!);
        Assert.Equal((DateTimeOffset)secret["createdAt"]!, (DateTimeOffset)secret["updatedAt"]!);
        Assert.Equal(new[] { "name", "scope", "version", "createdAt", "updatedAt" }, secret.Select(p => p.Key));
        var listing = await ListTextAsync();
        Assert.DoesNotContain(value, listing, StringComparison.Ordinal);
        Assert.Equal(1, (int)Find(JsonNode.Parse(listing)!["items"]!.AsArray(), name)!["version"]!);
    }

    [Fact]
    public async Task Put_ExistingSecret_200AndVersionIncremented()
    {
        var name = NewName();
        using (await PutAsync(name, Body(NewValue())))
        {
        }

        using var response = await PutAsync(name, Body(NewValue()));

        var secret = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(2, (int)secret["version"]!);
        Assert.True((DateTimeOffset)secret["updatedAt"]! >= (DateTimeOffset)secret["createdAt"]!);
        Assert.Equal(2, (int)Find(await ListAsync(), name)!["version"]!);
    }

    [Fact]
    public async Task Put_ValueOfExactly64KiB_Accepted()
    {
        using var response = await PutAsync(NewName(), Body(new string('é', 32 * 1024)));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    public static TheoryData<string> BadNames => new()
    {
        "a%2Fb",
        ".hidden",
        "-option",
        "a%5Cb",
        "a%20b",
        "caf%C3%A9",
        "a:b",
        new string('n', 257),
    };

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task Put_BadName_400NamingNameAndNothingStored(string rawName)
    {
        var before = await ListTextAsync();

        using var response = await PutAsync(rawName, Body(NewValue()));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "name");
        Assert.Equal(before, await ListTextAsync());
    }

    public static TheoryData<string, string> BadValues => new()
    {
        { "{}", "is required" },
        { """{"value":null}""", "is required" },
        { """{"value":""}""", "is required" },
        { """{"value":42}""", "must be a string" },
        { """{"value":{"a":"b"}}""", "must be a string" },
        { """{"value":"a\u0000b"}""", "NUL" },
        { $$"""{"value":"{{new string('x', 64 * 1024 + 1)}}"}""", "at most 65536 bytes" },
        { $$"""{"value":"{{new string('é', 32 * 1024 + 1)}}"}""", "at most 65536 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task Put_BadValue_400NamingValueAndNothingStored(string json, string message)
    {
        var name = NewName();

        using var response = await PutAsync(name, json);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "value");
        Assert.Contains(message, (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Null(Find(await ListAsync(), name));
    }

    [Fact]
    public async Task Put_BadNameAndBadValue_BothNamedAtOnce()
    {
        using var response = await PutAsync("a%2Fb", """{"value":7}""");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "name");
        Assert.True(problem["errors"]!.AsObject().ContainsKey("value"), problem.ToJsonString());
    }

    [Theory]
    [InlineData("""{"value":"x","extra":1}""", "extra")]
    [InlineData("not json", "body")]
    [InlineData("[]", "body")]
    public async Task Put_MalformedBody_400NamingTheFieldAndNothingStored(string json, string field)
    {
        var name = NewName();

        using var response = await PutAsync(name, json);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Null(Find(await ListAsync(), name));
    }

    [Fact]
    public async Task Put_UnknownScope_400NamingScope()
    {
        var name = NewName();

        using var response = await PutAsync(name, Body(NewValue()), "?scope=global");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "scope");
        Assert.Null(Find(await ListAsync(), name));
    }

    [Fact]
    public async Task Put_SharedByAdmin_SharedAndVisibleToEveryUser()
    {
        var (name, value) = (NewName(), NewValue());
        using var user = await Server.AddUserAsync();

        using var response = await PutAsync(name, Body(value), "?scope=shared");

        var secret = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created);
        Assert.Equal("shared", (string)secret["scope"]!);
        var theirs = await ListTextAsync(user.Client);
        Assert.NotNull(Find(JsonNode.Parse(theirs)!["items"]!.AsArray(), name, "shared"));
        Assert.DoesNotContain(value, theirs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_SharedByUser_403AndNothingStored()
    {
        var name = NewName();
        using var user = await Server.AddUserAsync();

        using var response = await PutAsync(name, Body(NewValue()), "?scope=shared", user.Client);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "scope");
        Assert.Null(Find(await ListAsync(), name, "shared"));
        Assert.DoesNotContain(name, await ListTextAsync(user.Client), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_SharedByUser_403AndTheSecretStays()
    {
        var name = NewName();
        using (await PutAsync(name, Body(NewValue()), "?scope=shared"))
        {
        }
        using var user = await Server.AddUserAsync();

        using var response = await user.Client.DeleteAsync($"/secrets/{name}?scope=shared");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "scope");
        Assert.NotNull(Find(await ListAsync(), name, "shared"));
    }

    [Fact]
    public async Task PutAndDelete_AsViewer_403ButListingAllowed()
    {
        using var viewer = await Server.AddUserAsync("viewer");

        using var put = await PutAsync(NewName(), Body(NewValue()), client: viewer.Client);
        using var delete = await viewer.Client.DeleteAsync($"/secrets/{NewName()}");

        await ProblemAssert.IsProblemAsync(put, HttpStatusCode.Forbidden, "role");
        await ProblemAssert.IsProblemAsync(delete, HttpStatusCode.Forbidden, "role");
        Assert.DoesNotContain(await ListAsync(viewer.Client), s => (string)s!["scope"]! == "user");
    }

    [Fact]
    public async Task Delete_Existing_204ThenGoneAndAgain404()
    {
        var name = NewName();
        using (await PutAsync(name, Body(NewValue())))
        {
        }

        using var deleted = await Server.Client.DeleteAsync($"/secrets/{name}");
        using var again = await Server.Client.DeleteAsync($"/secrets/{name}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Null(Find(await ListAsync(), name));
        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.NotFound, "name");
    }

    [Fact]
    public async Task Delete_BadName_400NamingName()
    {
        using var response = await Server.Client.DeleteAsync("/secrets/a%2F..%2Fb");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task OtherUser_CannotSeeOrDeleteSomeonesSecret()
    {
        var (name, value) = (NewName(), NewValue());
        using var alice = await Server.AddUserAsync();
        using var bob = await Server.AddUserAsync();
        using (var put = await PutAsync(name, Body(value), client: alice.Client))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var bobsListing = await ListTextAsync(bob.Client);
        using var bobDeletes = await bob.Client.DeleteAsync($"/secrets/{name}");
        using var adminDeletes = await Server.Client.DeleteAsync($"/secrets/{name}");

        Assert.DoesNotContain(name, bobsListing, StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(bobDeletes, HttpStatusCode.NotFound, "name");
        // An admin's own namespace is theirs too: DELETE without scope never reaches another user's secret.
        await ProblemAssert.IsProblemAsync(adminDeletes, HttpStatusCode.NotFound, "name");
        Assert.NotNull(Find(await ListAsync(alice.Client), name));
    }

    [Fact]
    public async Task Submit_SecretOfAnotherUser_403NamingTheSecretAndNoTaskCreated()
    {
        var name = NewName();
        using var alice = await Server.AddUserAsync();
        using var bob = await Server.AddUserAsync();
        using (await PutAsync(name, Body(NewValue()), client: alice.Client))
        {
        }
        var tasks = await CountTasksAsync();

        var body = TaskJson.Shell("true").With("secrets", new JsonObject { ["DB_PASSWORD"] = name });
        using var response = await Server.PostJsonAsync("/tasks", body.ToJsonString(), client: bob.Client);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, name);
        Assert.Contains("secrets.DB_PASSWORD", (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Equal(tasks, await CountTasksAsync());
    }

    [Fact]
    public async Task Submit_SecretThatDoesNotExist_403NamingItAndNoTaskCreated()
    {
        var name = NewName();
        var tasks = await CountTasksAsync();

        var body = TaskJson.Shell("true").With("secrets", new JsonObject { ["A"] = name });
        using var response = await Server.PostJsonAsync("/tasks", body.ToJsonString());

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, name);
        Assert.Equal(tasks, await CountTasksAsync());
    }

    public static TheoryData<string, string, string> BadReferences => new()
    {
        { """{"1ABC":"db"}""", "secrets", "not an environment variable name" },
        { """{"A-B":"db"}""", "secrets", "not an environment variable name" },
        { """{"":"db"}""", "secrets", "not an environment variable name" },
        { """{"A":"a/b"}""", "secrets", "invalid secret" },
        { """{"A":""}""", "secrets", "invalid secret" },
        { """{"A":null}""", "secrets", "invalid secret" },
        { """{"A":5}""", "secrets.A", "must be an object of string values" },
        { """["A"]""", "secrets", "must be an object of string values" },
        { """{"SAME":"db"}""", "secrets", "also set in env" },
        { "{" + string.Join(",", Enumerable.Range(0, 65).Select(i => $"\"V{i}\":\"db\"")) + "}", "secrets", "at most 64 secrets" },
    };

    [Theory]
    [MemberData(nameof(BadReferences))]
    public async Task Submit_BadSecretReferences_400NamingSecretsAndNoTaskCreated(string secrets, string field, string message)
    {
        var tasks = await CountTasksAsync();
        var body = TaskJson.Shell("true").With("env", new JsonObject { ["SAME"] = "x" }).With("secrets", JsonNode.Parse(secrets));

        using var response = await Server.PostJsonAsync("/tasks", body.ToJsonString());

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Contains(message, (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Equal(tasks, await CountTasksAsync());
    }

    [Fact]
    public async Task Submit_OwnSecret_201AndTheTaskShowsTheNamesOnly()
    {
        var (name, value) = (NewName(), NewValue());
        using (await PutAsync(name, Body(value)))
        {
        }

        var task = await Server.SubmitAsync(TaskJson.Shell("true").With("secrets", new JsonObject { ["DB_PASSWORD"] = name }));
        var stored = await Server.GetTaskAsync((string)task["taskId"]!);

        Assert.Equal(name, (string)stored["secrets"]!["DB_PASSWORD"]!);
        Assert.DoesNotContain(value, stored.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(value, task.ToJsonString(), StringComparison.Ordinal);
        using var cancel = await Server.PostAsync($"/tasks/{task["taskId"]}/cancel");
    }

    [Fact]
    public async Task StoredSecret_RawDatabaseFiles_HoldOnlyCiphertext()
    {
        var (name, value) = (NewName(), "plaintext-at-rest-" + Guid.NewGuid().ToString("N"));

        using (var response = await PutAsync(name, Body(value)))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        // The row is there (so the search below is not vacuous) with ciphertext as long as the value...
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(Server.DataDirectory, "skiff.db")};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT length(ciphertext) FROM secrets WHERE name = $n";
            command.Parameters.AddWithValue("$n", name);
            Assert.Equal((long)Encoding.UTF8.GetByteCount(value), command.ExecuteScalar());
        }
        // ...and no file of the data directory (database, WAL, key ring, anything) holds the value.
        var needle = Encoding.UTF8.GetBytes(value);
        foreach (var file in Directory.EnumerateFiles(Server.DataDirectory, "*", SearchOption.AllDirectories)
                     .Where(f => Path.GetFileName(f) != "server.lock" && new FileInfo(f).LinkTarget is null)) // links (image roots) hold no data
        {
            byte[] bytes;
            await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new MemoryStream())
            {
                await stream.CopyToAsync(copy);
                bytes = copy.ToArray();
            }
            Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"{file} holds the plaintext");
        }
    }

    [Fact]
    public async Task RotateKey_AsUser_403()
    {
        using var user = await Server.AddUserAsync();

        using var response = await Server.PostAsync("/secrets/rotate-key", user.Client);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "admin");
    }
}
