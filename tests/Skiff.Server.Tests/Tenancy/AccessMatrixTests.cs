using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Tenancy;

/// <summary>
/// Who may do what: every endpoint against the owner of a task (A), another user (B), a viewer, an admin, a
/// revoked key and no key, each with the exact status expected. Another user's things answer 404, never 403,
/// so their existence is not revealed; a viewer's attempt to change anything answers 403 whoever owns it.
/// </summary>
public sealed class AccessMatrixTests : IClassFixture<AccessMatrixTests.Tenants>
{
    private readonly Tenants _tenants;

    public AccessMatrixTests(Tenants tenants) => _tenants = tenants;

    public enum Caller
    {
        Owner,
        Other,
        Viewer,
        Admin,
        Revoked,
        None,
    }

    /// <summary>One row: a request (its path made fresh for every caller when it changes something) and the status each caller gets.</summary>
    public sealed record Row(string Method, Func<Tenants, Task<string>> Path, Func<string>? Body, int Owner, int Other, int Viewer, int Admin)
    {
        public int Expected(Caller caller) => caller switch
        {
            Caller.Owner => Owner,
            Caller.Other => Other,
            Caller.Viewer => Viewer,
            Caller.Admin => Admin,
            _ => 401,
        };
    }

    private static readonly Dictionary<string, Row> Rows = new()
    {
        ["get task"] = new("GET", t => Task.FromResult($"/tasks/{t.FinishedTask}"), null, 200, 404, 404, 200),
        ["task logs"] = new("GET", t => Task.FromResult($"/tasks/{t.FinishedTask}/logs"), null, 200, 404, 404, 200),
        ["task result"] = new("GET", t => Task.FromResult($"/tasks/{t.FinishedTask}/result"), null, 200, 404, 404, 200),
        ["task artifact"] = new("GET", t => Task.FromResult($"/tasks/{t.FinishedTask}/artifacts/out.txt"), null, 200, 404, 404, 200),
        ["cancel task"] = new("POST", async t => $"/tasks/{await t.RunningTaskOfOwnerAsync()}/cancel", null, 200, 404, 403, 200),
        ["redrive task"] = new("POST", async t => $"/dead-letter/{await t.DeadLetteredTaskOfOwnerAsync()}/redrive", null, 200, 404, 403, 200),
        ["list tasks"] = new("GET", _ => Task.FromResult("/tasks"), null, 200, 200, 200, 200),
        ["list dead letter"] = new("GET", _ => Task.FromResult("/dead-letter"), null, 200, 200, 200, 200),
        ["submit task"] = new("POST", _ => Task.FromResult("/tasks"), () => TaskJson.Command("true").ToJsonString(), 201, 201, 403, 201),
        ["list users"] = new("GET", _ => Task.FromResult("/users"), null, 403, 403, 403, 200),
        ["create user"] = new("POST", _ => Task.FromResult("/users"), () => new JsonObject { ["name"] = "m-" + Guid.NewGuid().ToString("N")[..12], ["role"] = "user" }.ToJsonString(), 403, 403, 403, 201),
        ["get user"] = new("GET", t => Task.FromResult($"/users/{t.Owner.Id}"), null, 200, 404, 404, 200),
        ["list keys"] = new("GET", t => Task.FromResult($"/users/{t.Owner.Id}/keys"), null, 200, 404, 404, 200),
        ["create key"] = new("POST", t => Task.FromResult($"/users/{t.Owner.Id}/keys"), () => """{"name":"matrix"}""", 201, 404, 403, 201),
        ["revoke key"] = new("DELETE", async t => $"/users/{t.Owner.Id}/keys/{await t.SpareKeyOfOwnerAsync()}", null, 204, 404, 403, 204),
        ["set quotas"] = new("PUT", t => Task.FromResult($"/users/{t.Owner.Id}/quotas"), () => "{}", 403, 403, 403, 200),
        ["disable user"] = new("DELETE", async t => $"/users/{await t.SpareUserAsync()}", null, 403, 403, 403, 200),
        ["list secrets"] = new("GET", _ => Task.FromResult("/secrets"), null, 200, 200, 200, 200),
        ["put secret"] = new("PUT", _ => Task.FromResult($"/secrets/m-{Guid.NewGuid():N}"), () => """{"value":"matrix-value"}""", 201, 201, 403, 201),
        // Secret names live in each user's own namespace: another user (the admin included) finds no such secret.
        ["delete secret"] = new("DELETE", async t => $"/secrets/{await t.SecretOfOwnerAsync()}", null, 204, 404, 403, 404),
        ["rotate secrets key"] = new("POST", _ => Task.FromResult("/secrets/rotate-key"), null, 403, 403, 403, 200),
        ["list audit"] = new("GET", _ => Task.FromResult("/audit"), null, 403, 403, 403, 200),
        ["verify audit"] = new("GET", _ => Task.FromResult("/audit/verify"), null, 403, 403, 403, 200),
    };

    public static TheoryData<string> RowNames => new(Rows.Keys);

    [Theory]
    [MemberData(nameof(RowNames))]
    public async Task Endpoint_EachCaller_ExactStatus(string row)
    {
        var spec = Rows[row];
        var failures = new List<string>();
        foreach (var caller in Enum.GetValues<Caller>())
        {
            var path = await spec.Path(_tenants);
            using var request = new HttpRequestMessage(new HttpMethod(spec.Method), path);
            if (spec.Body is { } body)
            {
                request.Content = new StringContent(body(), Encoding.UTF8, "application/json");
            }
            using var response = await _tenants.ClientOf(caller).SendAsync(request);
            if ((int)response.StatusCode != spec.Expected(caller))
            {
                failures.Add($"{caller}: {spec.Method} {path} → {(int)response.StatusCode}, expected {spec.Expected(caller)}: {await response.Content.ReadAsStringAsync()}");
            }
            else if ((int)response.StatusCode >= 400)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
            await _tenants.CancelLeftoversAsync();
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/metrics")]
    public async Task OpenEndpoint_EveryCaller_200(string path)
    {
        foreach (var caller in Enum.GetValues<Caller>())
        {
            using var response = await _tenants.ClientOf(caller).GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{caller}: {path} → {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task ListTasks_OtherUsersAndUserIdFilter_OnlyTheirOwnUnlessAdmin()
    {
        var ownerTasks = await IdsAsync(_tenants.Owner.Client, "/tasks?limit=500");
        var otherTasks = await IdsAsync(_tenants.Other.Client, "/tasks?limit=500");
        var otherAskingForOwner = await IdsAsync(_tenants.Other.Client, $"/tasks?limit=500&userId={_tenants.Owner.Id}");
        var viewerTasks = await IdsAsync(_tenants.Viewer.Client, "/tasks?limit=500");
        var adminForOwner = await IdsAsync(_tenants.Server.Client, $"/tasks?limit=500&userId={_tenants.Owner.Id}");
        var otherDeadLetter = await IdsAsync(_tenants.Other.Client, "/dead-letter?limit=500");

        Assert.Contains(_tenants.FinishedTask, ownerTasks);
        Assert.Contains(_tenants.OtherTask, otherTasks);
        Assert.DoesNotContain(_tenants.FinishedTask, otherTasks);
        Assert.DoesNotContain(_tenants.FinishedTask, otherAskingForOwner);
        Assert.Contains(_tenants.OtherTask, otherAskingForOwner);
        Assert.Empty(viewerTasks);
        Assert.Empty(otherDeadLetter);
        Assert.Equal(ownerTasks.Order(), adminForOwner.Order());
    }

    private static async Task<List<string>> IdsAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var page = await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.OK);
        return page["items"]!.AsArray().Select(t => (string)t!["taskId"]!).ToList();
    }

    /// <summary>A server with users A (owner), B (other), a viewer and a user whose key was revoked; A has a finished task with an artifact.</summary>
    public sealed class Tenants : IAsyncLifetime
    {
        private SkiffTestServer? _server;

        public SkiffTestServer Server => _server!;

        public TestUser Owner { get; private set; } = null!;

        public TestUser Other { get; private set; } = null!;

        public TestUser Viewer { get; private set; } = null!;

        public TestUser Revoked { get; private set; } = null!;

        public string FinishedTask { get; private set; } = "";

        public string OtherTask { get; private set; } = "";

        public HttpClient ClientOf(Caller caller) => caller switch
        {
            Caller.Owner => Owner.Client,
            Caller.Other => Other.Client,
            Caller.Viewer => Viewer.Client,
            Caller.Admin => Server.Client,
            Caller.Revoked => Revoked.Client,
            _ => Server.Anonymous,
        };

        public async Task InitializeAsync()
        {
            _server = await SkiffTestServer.StartAsync(maxWorkers: 2);
            Owner = await _server.CreateUserAsync("owner");
            Other = await _server.CreateUserAsync("other");
            Viewer = await _server.CreateUserAsync("viewer", "viewer");
            Revoked = await _server.CreateUserAsync("revoked");
            using (var revoke = await _server.Client.DeleteAsync($"/users/{Revoked.Id}/keys/{Revoked.KeyId}"))
            {
                Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
            }
            FinishedTask = await SubmitAsync(Owner, TaskJson.Shell("echo hello; echo data > \"$SKIFF_OUTPUT/out.txt\""));
            await _server.WaitForStatusAsync(FinishedTask, "succeeded");
            OtherTask = await SubmitAsync(Other, TaskJson.Command("true"));
            await _server.WaitForStatusAsync(OtherTask, "succeeded");
        }

        private readonly List<string> _sleeping = [];

        /// <summary>A fresh running task of the owner, for a cancel.</summary>
        public async Task<string> RunningTaskOfOwnerAsync()
        {
            var id = await SubmitAsync(Owner, TaskJson.Command("sleep", "60"));
            _sleeping.Add(id);
            await _server!.WaitForStatusAsync(id, "running");
            return id;
        }

        /// <summary>Cancels (as the admin) the sleeping tasks that callers without the right could not cancel, freeing the worker slots.</summary>
        public async Task CancelLeftoversAsync()
        {
            foreach (var id in _sleeping)
            {
                using var response = await _server!.PostAsync($"/tasks/{id}/cancel");
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"cancel {id}: {(int)response.StatusCode}");
            }
            _sleeping.Clear();
        }

        /// <summary>A fresh dead-lettered task of the owner, for a redrive.</summary>
        public async Task<string> DeadLetteredTaskOfOwnerAsync()
        {
            var id = await SubmitAsync(Owner, TaskJson.Command("false").With("maxAttempts", 1));
            await _server!.WaitForTaskAsync(id, t => (bool)t["deadLettered"]!, "dead-lettered");
            return id;
        }

        public async Task<string> SpareKeyOfOwnerAsync()
        {
            using var response = await _server!.PostJsonAsync($"/users/{Owner.Id}/keys", """{"name":"spare"}""");
            return (string)(await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created))["id"]!;
        }

        public async Task<string> SecretOfOwnerAsync()
        {
            var name = "owned-" + Guid.NewGuid().ToString("N")[..12];
            using var response = await Owner.Client.PutAsync($"/secrets/{name}", new StringContent("""{"value":"owned-value"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return name;
        }

        public async Task<string> SpareUserAsync()
        {
            using var spare = await _server!.CreateUserAsync("spare");
            return spare.Id;
        }

        private async Task<string> SubmitAsync(TestUser user, JsonObject body)
        {
            using var response = await user.Client.PostAsync("/tasks", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
            return (string)(await SkiffTestServer.ReadJsonAsync(response, HttpStatusCode.Created))["taskId"]!;
        }

        public async Task DisposeAsync()
        {
            foreach (var user in new[] { Owner, Other, Viewer, Revoked })
            {
                user?.Dispose();
            }
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }
    }
}
