using System.Net;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Users;

/// <summary>/users and /users/{id}/keys over HTTP against a real server (no workers: tasks stay queued).</summary>
[Collection(IdleServerCollection.Name)]
public sealed class UserApiTests(IdleServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    private async Task<int> CountUsersAsync() => (await Server.GetJsonAsync("/users"))["items"]!.AsArray().Count;

    [Fact]
    public async Task CreateUser_ValidRequest_201AndListed()
    {
        using var response = await Server.PostJsonAsync("/users", """{"name":"carol-created","role":"viewer","maxRunning":2,"maxQueued":50}""");
        var user = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created);

        var id = (string)user["id"]!;
        Assert.StartsWith("u_", id, StringComparison.Ordinal);
        Assert.Equal($"/users/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("carol-created", (string)user["name"]!);
        Assert.Equal("viewer", (string)user["role"]!);
        Assert.Equal(2, (int)user["maxRunning"]!);
        Assert.Equal(50, (int)user["maxQueued"]!);
        Assert.Null(user["disabledAt"]);
        var listed = (await Server.GetJsonAsync("/users"))["items"]!.AsArray().Single(u => (string)u!["id"]! == id)!;
        Assert.Equal("carol-created", (string)listed["name"]!);
        Assert.Equal("viewer", (string)(await Server.GetJsonAsync($"/users/{id}"))["role"]!);
    }

    [Fact]
    public async Task CreateUser_DuplicateName_409AndNothingStored()
    {
        using var first = await Server.PostJsonAsync("/users", """{"name":"dup-name","role":"user"}""");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var before = await CountUsersAsync();

        using var second = await Server.PostJsonAsync("/users", """{"name":"dup-name","role":"admin"}""");

        await ProblemAssert.IsProblemAsync(second, HttpStatusCode.Conflict, "dup-name");
        Assert.Equal(before, await CountUsersAsync());
    }

    [Theory]
    [InlineData("""{"name":"x1","role":"root"}""", "role")]
    [InlineData("""{"name":"x2"}""", "role")]
    [InlineData("""{"role":"user"}""", "name")]
    [InlineData("""{"name":"../etc","role":"user"}""", "name")]
    [InlineData("""{"name":"has space","role":"user"}""", "name")]
    [InlineData("""{"name":"","role":"user"}""", "name")]
    [InlineData("""{"name":"x3","role":"user","maxRunning":0}""", "maxRunning")]
    [InlineData("""{"name":"x4","role":"user","maxQueued":-5}""", "maxQueued")]
    [InlineData("""{"name":"x5","role":"user","isAdmin":true}""", "isAdmin")]
    [InlineData("""{"name":5,"role":"user"}""", "name")]
    [InlineData("""{"name":"x6","role":"user","maxQueued":"lots"}""", "maxQueued")]
    public async Task CreateUser_BadInput_400NamingTheFieldAndNothingStored(string body, string field)
    {
        var before = await CountUsersAsync();

        using var response = await Server.PostJsonAsync("/users", body);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(before, await CountUsersAsync());
    }

    [Fact]
    public async Task CreateUser_LongName_400()
    {
        using var response = await Server.PostJsonAsync("/users", new JsonObject { ["name"] = new string('a', 65), ["role"] = "user" }.ToJsonString());

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task CreateKey_ShownOnceAndWorks_ListingHasNoSecretMaterial()
    {
        using var alice = await Server.CreateUserAsync("alice");
        using var response = await Server.PostJsonAsync($"/users/{alice.Id}/keys", """{"name":"laptop"}""");
        var created = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created);
        var key = (string)created["key"]!;

        Assert.StartsWith("sk_", key, StringComparison.Ordinal);
        Assert.Equal(key[..10], (string)created["prefix"]!);
        using var client = Server.ClientWithKey(key);
        using (var tasks = await client.GetAsync("/tasks"))
        {
            Assert.Equal(HttpStatusCode.OK, tasks.StatusCode);
        }
        using var listing = await Server.Client.GetAsync($"/users/{alice.Id}/keys");
        var text = await listing.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, listing.StatusCode);
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(key[10..], text, StringComparison.Ordinal);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);
        var keys = JsonNode.Parse(text)!["items"]!.AsArray();
        Assert.Equal(2, keys.Count);
        Assert.Contains(keys, k => (string)k!["name"]! == "laptop" && (string)k["prefix"]! == key[..10] && k["key"] is null);
    }

    [Fact]
    public async Task CreateKey_MissingUser_404()
    {
        using var response = await Server.PostJsonAsync("/users/u_0000000000000000/keys", """{"name":"x"}""");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "userId");
    }

    [Theory]
    [InlineData("""{"name":"x","expiresAt":"2000-01-01T00:00:00Z"}""", "expiresAt")]
    [InlineData("""{"name":"x","expiresAt":"next tuesday"}""", "expiresAt")]
    [InlineData("""{"expiresAt":"2999-01-01T00:00:00Z"}""", "name")]
    [InlineData("""{"name":"x","scope":"all"}""", "scope")]
    public async Task CreateKey_BadInput_400AndNoKeyStored(string body, string field)
    {
        using var bob = await Server.CreateUserAsync("bob");

        using var response = await Server.PostJsonAsync($"/users/{bob.Id}/keys", body);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Single((await Server.GetJsonAsync($"/users/{bob.Id}/keys"))["items"]!.AsArray());
    }

    [Fact]
    public async Task RevokeKey_AfterTheKeyWasUsed_VeryNextRequest401()
    {
        using var dave = await Server.CreateUserAsync("dave");
        using (var warm = await dave.Client.GetAsync("/tasks"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode); // now in the authenticator's cache
        }

        using var revoke = await Server.Client.DeleteAsync($"/users/{dave.Id}/keys/{dave.KeyId}");
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);

        using var after = await dave.Client.GetAsync("/tasks");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        var listed = (await Server.GetJsonAsync($"/users/{dave.Id}/keys"))["items"]!.AsArray().Single()!;
        Assert.NotNull(listed["revokedAt"]);
        using var again = await Server.Client.DeleteAsync($"/users/{dave.Id}/keys/k_0000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task ExpiringKey_WorksUntilItsExpiryThen401()
    {
        using var erin = await Server.CreateUserAsync("erin");
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        using var response = await Server.PostJsonAsync($"/users/{erin.Id}/keys", new JsonObject { ["name"] = "short", ["expiresAt"] = expiresAt.ToString("O") }.ToJsonString());
        var key = (string)(await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created))["key"]!;
        using var client = Server.ClientWithKey(key);

        using (var before = await client.GetAsync("/tasks"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        await Eventually.UntilAsync(async () =>
        {
            using var r = await client.GetAsync("/tasks");
            return r.StatusCode;
        }, s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(30), "the expired key refused", interval: TimeSpan.FromMilliseconds(100));
        Assert.True(DateTimeOffset.UtcNow >= expiresAt - TimeSpan.FromMilliseconds(50), "refused before it expired");
    }

    [Fact]
    public async Task DisableUser_KeysStopAtOnce_QueuedTasksStayUnlessCancelTasks()
    {
        using var frank = await Server.CreateUserAsync("frank");
        using var grace = await Server.CreateUserAsync("grace");
        var frankTask = await SubmitAsAsync(frank);
        var graceTask = await SubmitAsAsync(grace);

        using (var disable = await Server.Client.DeleteAsync($"/users/{frank.Id}"))
        {
            var user = await SkiffTestServer.ReadJsonAsync(disable, HttpStatusCode.OK);
            Assert.NotNull(user["disabledAt"]);
        }
        using (var refused = await frank.Client.GetAsync("/tasks"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        Assert.Equal("queued", SkiffTestServer.Status(await Server.GetTaskAsync(frankTask)));

        using (var disable = await Server.Client.DeleteAsync($"/users/{grace.Id}?cancelTasks=true"))
        {
            Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        }
        Assert.Equal("cancelled", SkiffTestServer.Status(await Server.GetTaskAsync(graceTask)));
        using var keyForDisabled = await Server.PostJsonAsync($"/users/{grace.Id}/keys", """{"name":"again"}""");
        Assert.Equal(HttpStatusCode.NotFound, keyForDisabled.StatusCode);
    }

    [Fact]
    public async Task DisableUser_Yourself_409()
    {
        using var admin = await Server.CreateUserAsync("second-admin", "admin");

        using var response = await admin.Client.DeleteAsync($"/users/{admin.Id}");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "userId");
        using var still = await admin.Client.GetAsync("/users");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }

    [Fact]
    public async Task OwnKeys_UserManagesThemselves_ButNoOneElse()
    {
        using var heidi = await Server.CreateUserAsync("heidi");
        using var ivan = await Server.CreateUserAsync("ivan");

        using var own = await heidi.Client.PostAsync($"/users/{heidi.Id}/keys", Json("""{"name":"ci"}"""));
        var created = await SkiffTestServer.ReadJsonAsync(own, HttpStatusCode.Created);
        using var other = await heidi.Client.PostAsync($"/users/{ivan.Id}/keys", Json("""{"name":"steal"}"""));
        using var otherList = await heidi.Client.GetAsync($"/users/{ivan.Id}/keys");
        using var otherRevoke = await heidi.Client.DeleteAsync($"/users/{ivan.Id}/keys/{ivan.KeyId}");
        using var ownRevoke = await heidi.Client.DeleteAsync($"/users/{heidi.Id}/keys/{(string)created["id"]!}");

        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, otherList.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, otherRevoke.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, ownRevoke.StatusCode);
        using var ivanStill = await ivan.Client.GetAsync("/tasks");
        Assert.Equal(HttpStatusCode.OK, ivanStill.StatusCode);
        Assert.Single((await Server.GetJsonAsync($"/users/{ivan.Id}/keys"))["items"]!.AsArray());
    }

    [Fact]
    public async Task SetQuotas_AdminOnly_NullMeansDefault()
    {
        using var judy = await Server.CreateUserAsync("judy");

        using var set = await Server.Client.PutAsync($"/users/{judy.Id}/quotas", Json("""{"maxRunning":3,"maxQueued":10}"""));
        var user = await SkiffTestServer.ReadJsonAsync(set, HttpStatusCode.OK);
        Assert.Equal(3, (int)user["maxRunning"]!);
        using var self = await judy.Client.PutAsync($"/users/{judy.Id}/quotas", Json("""{"maxRunning":100}"""));
        Assert.Equal(HttpStatusCode.Forbidden, self.StatusCode);
        using var bad = await Server.Client.PutAsync($"/users/{judy.Id}/quotas", Json("""{"maxRunning":0}"""));
        await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest, "maxRunning");
        using var reset = await Server.Client.PutAsync($"/users/{judy.Id}/quotas", Json("{}"));
        var cleared = await SkiffTestServer.ReadJsonAsync(reset, HttpStatusCode.OK);

        Assert.Null(cleared["maxRunning"]);
        Assert.Null(cleared["maxQueued"]);
    }

    private async Task<string> SubmitAsAsync(TestUser user)
    {
        using var response = await user.Client.PostAsync("/tasks", Json(TaskJson.Command("true").ToJsonString()));
        return (string)(await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created))["taskId"]!;
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
