using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Storage.Contract;
using Xunit;
using Xunit.Abstractions;

namespace Skiff.Server.Tests.Hardening;

/// <summary>
/// Thousands of hostile requests against every route and method the server maps (found in its endpoint data
/// source, so endpoints added later are fuzzed too): malformed and deep JSON, wrong types and huge numbers in
/// every field, invalid UTF-8, traversal and SQL in every path parameter, query and string, enormous headers,
/// bad keys, broken HTTP framing. The server must never answer 5xx, never serve a protected route without a
/// key, carry the security headers on every answer, store nothing it refused, and stay healthy.
/// </summary>
public sealed class HostileInputFuzzTests(ITestOutputHelper output)
{
    /// <summary>Replays or varies a run: SKIFF_FUZZ_SEED=12345 dotnet test --filter HostileInputFuzzTests.</summary>
    public const string SeedVariable = "SKIFF_FUZZ_SEED";

    private const int DefaultSeed = 61_107;
    private const int Concurrency = 8;
    private const int MinimumRequests = 5000;
    private const int FailuresShown = 40;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What the API serves without a key (ApiKeyMiddleware's list).</summary>
    private static readonly string[] OpenPrefixes = ["/health", "/metrics", "/openapi"];

    /// <summary>Statuses Kestrel itself sends for requests it cannot parse; they never pass through the pipeline.</summary>
    private static readonly int[] KestrelStatuses = [400, 405, 408, 411, 413, 414, 417, 431, 501, 505];

    [Fact]
    public async Task EveryEndpoint_ThousandsOfHostileRequests_No5xxNoBypassNothingStoredServerHealthy()
    {
        var seed = Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : DefaultSeed;
        output.WriteLine($"seed {seed} (replay or vary with {SeedVariable}=N)");
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0);

        // Data that exists before the run, holding metacharacters itself: it must come through unchanged.
        var realTask = await server.SubmitIdAsync(TaskJson.Command("echo", HostileCatalog.SqlOr)
            .With("metadata", new JsonObject { ["note"] = HostileCatalog.SqlDrop }));
        await server.SubmitIdAsync(TaskJson.Command("true").With("priority", 7));
        var json = new JsonSerializerOptions(server.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions);
        var endpoints = FuzzEndpoint.Discover(server.Services.GetRequiredService<EndpointDataSource>(), json);
        output.WriteLine($"{endpoints.Count} endpoints:");
        foreach (var endpoint in endpoints)
        {
            output.WriteLine("  " + endpoint);
        }
        Assert.Contains(endpoints, e => e is { Method: "POST", Route: "/tasks" });
        Assert.Contains(endpoints, e => e is { Method: "GET", Route: "/tasks/{taskId}" });
        if (endpoints.Any(e => e is { Method: "POST", Route: "/users" }))
        {
            using var victim = await server.PostJsonAsync("/users", """{"name":"fuzz-victim","role":"user"}""");
            Assert.Equal(HttpStatusCode.Created, victim.StatusCode);
        }

        // Audit trails record refused calls by design, so they are not expected to stay the same.
        var listings = endpoints.Where(e => e.Method == "GET" && e.Pattern.Parameters.Count == 0 && !IsOpen(e.Route)
            && !e.Route.Contains("audit", StringComparison.OrdinalIgnoreCase)).Select(e => e.Route).ToList();
        var store = server.Services.GetRequiredService<ITaskStore>();
        var before = await ApiSnapshot.TakeAsync(server.Client, listings);
        var storeBefore = await store.CountAsync(CancellationToken.None);
        output.WriteLine($"listings: {string.Join(", ", before.Listings.Select(l => $"{l.Key} ({l.Value.Count})"))}; tasks in the store: {storeBefore.Total}");

        var requests = new HostileRequests(seed, server.AdminKey,
            realValues: new Dictionary<string, string> { ["taskId"] = realTask },
            validBodies: new Dictionary<string, string> { ["POST /tasks"] = """{"command":["true"]}""" },
            validQueries: new Dictionary<string, string> { ["POST /images"] = "name=fuzz-image:1" }).Generate(endpoints);

        // Reads, deletes and the rest first, then writes: a hostile delete can never meet what a write created.
        var phases = requests.GroupBy(r => r.Method is "POST" or "PUT" or "PATCH").OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        var outcomes = new ConcurrentBag<Outcome>();
        var handler = new SocketsHttpHandler
        {
            // Header chars 0x80–0xFF go out as single bytes: invalid UTF-8 on the wire.
            RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = Concurrency,
        };
        using var http = new HttpClient(handler) { Timeout = RequestTimeout };
        // Over a limit, the server answers and closes the connection while the client still sends: requests that
        // may be cut off get connections of their own, so that no other request is sent on one being closed.
        using var cutOffHttp = new HttpClient(new SocketsHttpHandler
        {
            RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.Zero,
        })
        { Timeout = RequestTimeout };
        var watch = Stopwatch.StartNew();
        foreach (var phase in phases)
        {
            await Parallel.ForEachAsync(phase, new ParallelOptions { MaxDegreeOfParallelism = Concurrency },
                async (request, _) => outcomes.Add(await SendAsync(request.MayBeCutOff ? cutOffHttp : http, server, request)));
        }
        watch.Stop();

        var after = await ApiSnapshot.TakeAsync(server.Client, listings);
        var storeAfter = await store.CountAsync(CancellationToken.None);
        Report(outcomes, watch.Elapsed);

        var failures = outcomes.Select(o => (Outcome: o, Why: Failure(o))).Where(f => f.Why is not null)
            .Select(f => $"{f.Why}: {f.Outcome.Request}{(f.Outcome.Answer is { Length: > 0 } a ? " → " + a : "")}").ToList();
        failures.AddRange(StoreChanges(before, after, outcomes));
        var createdTasks = Created(outcomes, "/tasks");
        if (storeAfter.Total != storeBefore.Total + createdTasks || storeAfter.DeadLettered != storeBefore.DeadLettered)
        {
            failures.Add($"store: {storeBefore} before, {storeAfter} after, but only {createdTasks} tasks were accepted (201)");
        }
        failures.AddRange(HostileCatalog.EscapePaths(seed).Where(p => File.Exists(p) || Directory.Exists(p)).Select(p => $"an archive entry escaped to {p}"));
        Assert.True(failures.Count == 0,
            $"{failures.Count} failures in {outcomes.Count} requests (seed {seed}); the first {FailuresShown}:\n" + string.Join('\n', failures.Take(FailuresShown)));
        Assert.True(outcomes.Count >= MinimumRequests, $"only {outcomes.Count} requests generated");

        await server.AssertHealthyAsync();
        using var stillAdmin = await server.Client.GetAsync($"/tasks/{realTask}");
        Assert.Equal(HttpStatusCode.OK, stillAdmin.StatusCode);
    }

    /// <summary>Why an outcome is a failure, or null.</summary>
    private static string? Failure(Outcome outcome)
    {
        var request = outcome.Request;
        if (outcome.Error is { } error)
        {
            return request.MayBeCutOff && !error.StartsWith("no answer", StringComparison.Ordinal) ? null : error;
        }
        if (outcome.Status is not { } status)
        {
            // Kestrel may close on bytes that are not HTTP at all; /health afterwards shows it still serves.
            return null;
        }
        // 505 is HTTP's own answer to "HTTP/9.9", sent by Kestrel before any Skiff code runs.
        if (status >= 500 && !(status == 505 && !outcome.HasContentType))
        {
            return $"{status}";
        }
        if (status is >= 200 and < 300 && !request.Authenticated && !IsOpen(NormalizedPath(outcome.Target)))
        {
            return $"{status} without a valid key";
        }
        var fromKestrel = KestrelStatuses.Contains(status) && !outcome.HasContentType;
        if (!fromKestrel && !outcome.HasSecurityHeaders)
        {
            return $"{status} without the security headers";
        }
        return null;
    }

    /// <summary>Every listed item must still be there unchanged; new items only as many as writes answered 201.</summary>
    private static IEnumerable<string> StoreChanges(ApiSnapshot before, ApiSnapshot after, IReadOnlyCollection<Outcome> outcomes)
    {
        foreach (var (route, items) in before.Listings)
        {
            var now = after.Listings.GetValueOrDefault(route) ?? [];
            var remaining = now.GroupBy(i => i, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            foreach (var item in items)
            {
                if (remaining.GetValueOrDefault(item) == 0)
                {
                    yield return $"{route}: an item listed before was changed or removed: {item}";
                    continue;
                }
                remaining[item]--;
            }
            var created = Created(outcomes, route);
            if (now.Count != items.Count + created)
            {
                yield return $"{route}: {items.Count} items before, {now.Count} after, but {created} writes were answered 201";
            }
        }
    }

    /// <summary>Writes answered 201 on <paramref name="listing"/> itself or on one item below it (PUT /secrets/{name}).</summary>
    private static int Created(IEnumerable<Outcome> outcomes, string listing) => outcomes.Count(o =>
        o.Status == 201 && o.Request.Method is "POST" or "PUT" && (o.Request.Endpoint.Route == listing
            || (o.Request.Endpoint.Route.StartsWith(listing + "/{", StringComparison.Ordinal) && o.Request.Endpoint.Route.Count(c => c == '/') == listing.Count(c => c == '/') + 1)));

    private void Report(IReadOnlyCollection<Outcome> outcomes, TimeSpan elapsed)
    {
        output.WriteLine($"{outcomes.Count} requests in {elapsed.TotalSeconds:0.0} s ({outcomes.Count / elapsed.TotalSeconds:0} per second), {Concurrency} at a time");
        output.WriteLine("statuses: " + string.Join(", ", outcomes.GroupBy(o => o.Status?.ToString(CultureInfo.InvariantCulture) ?? (o.Error is null ? "closed" : "error"))
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} ×{g.Count()}")));
        var accepted = outcomes.Where(o => o.Status is >= 200 and < 300 && o.Request.Method is not ("GET" or "HEAD" or "RAW" or "OPTIONS")).ToList();
        output.WriteLine($"writes answered 2xx: {accepted.Count}" + string.Concat(accepted.GroupBy(o => $"{o.Request.Method} {o.Request.Endpoint.Route} {o.Status}")
            .Select(g => $"; {g.Key} ×{g.Count()}")));
        var dropped = outcomes.Where(o => o.Error is not null || o.Status is null).ToList();
        output.WriteLine($"closed or dropped without an answer: {dropped.Count}" + string.Concat(dropped.GroupBy(o => o.Request.Category).Select(g => $"; {g.Key} ×{g.Count()}")));
    }

    private static async Task<Outcome> SendAsync(HttpClient http, SkiffTestServer server, HostileRequest request)
    {
        var uriText = server.BaseAddress.GetLeftPart(UriPartial.Authority) + request.Target;
        if (request.Raw is not null
            || !Uri.TryCreate(uriText, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }, out var uri))
        {
            return await SendRawAsync(server, request);
        }
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), uri);
        if (request.Authenticated)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminKey);
        }
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            if (request.ContentType is not null && !message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType))
            {
                return await SendRawAsync(server, request);
            }
        }
        foreach (var (name, value) in request.Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                return await SendRawAsync(server, request);
            }
        }
        try
        {
            using var response = await http.SendAsync(message);
            var body = await response.Content.ReadAsStringAsync();
            return new Outcome(request, request.Target, (int)response.StatusCode,
                response.Headers.TryGetValues("X-Content-Type-Options", out var nosniff) && nosniff.Contains("nosniff"),
                response.Content.Headers.ContentType is not null,
                null, body.Length > 300 ? body[..300] : body);
        }
        catch (TaskCanceledException)
        {
            return new Outcome(request, request.Target, null, false, false, $"no answer within {RequestTimeout.TotalSeconds:0} s", null);
        }
        catch (HttpRequestException ex)
        {
            return new Outcome(request, request.Target, null, false, false, $"connection failed ({ex.HttpRequestError}: {ex.Message})", null);
        }
    }

    private static async Task<Outcome> SendRawAsync(SkiffTestServer server, HostileRequest request)
    {
        var bytes = request.Raw ?? ToRaw(request, server.AdminKey);
        var target = TargetOf(bytes);
        try
        {
            var response = await RawHttp.SendAsync(server.BaseAddress, bytes, RequestTimeout);
            var head = response.Head;
            return new Outcome(request, target, response.Status,
                head.Contains("\r\nX-Content-Type-Options: nosniff", StringComparison.OrdinalIgnoreCase),
                head.Contains("\r\nContent-Type:", StringComparison.OrdinalIgnoreCase), null, head.Length > 300 ? head[..300] : head);
        }
        catch (TimeoutException)
        {
            return new Outcome(request, target, null, false, false, $"no answer within {RequestTimeout.TotalSeconds:0} s", null);
        }
        catch (IOException ex)
        {
            return new Outcome(request, target, null, false, false, null, ex.Message);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            return new Outcome(request, target, null, false, false, $"cannot connect ({ex.SocketErrorCode})", null);
        }
    }

    /// <summary>The request as HTTP/1.1 bytes, for what HttpClient refuses to send (an invalid URI or header).</summary>
    private static byte[] ToRaw(HostileRequest request, string adminKey)
    {
        var head = new StringBuilder($"{request.Method} {request.Target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if (request.Authenticated)
        {
            head.Append("Authorization: Bearer ").Append(adminKey).Append("\r\n");
        }
        foreach (var (name, value) in request.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        if (request.Body is not null)
        {
            if (request.ContentType is not null)
            {
                head.Append("Content-Type: ").Append(request.ContentType).Append("\r\n");
            }
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {request.Body.Length}\r\n");
        }
        head.Append("\r\n");
        return [.. Encoding.Latin1.GetBytes(head.ToString()), .. request.Body ?? []];
    }

    /// <summary>The request-target of raw request bytes ("-" when there is none).</summary>
    private static string TargetOf(byte[] raw)
    {
        var line = Encoding.Latin1.GetString(raw, 0, Math.Min(raw.Length, 16 * 1024)).Split('\n').FirstOrDefault(l => l.Trim().Length > 0) ?? "";
        var parts = line.Split(' ');
        return parts.Length >= 2 ? parts[1] : "-";
    }

    private static bool IsOpen(string path) =>
        OpenPrefixes.Any(prefix => path.Equals(prefix, StringComparison.OrdinalIgnoreCase) || path.StartsWith(prefix + "/", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The path as the server routes it: percent-decoded except %2F, dot segments removed (Kestrel does both),
    /// so "/health/%2e%2e/tasks" counts as /tasks, which needs a key.
    /// </summary>
    private static string NormalizedPath(string target)
    {
        var path = target.Split('?', '#')[0];
        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            path = new Uri(path).AbsolutePath;
        }
        var decoded = Uri.UnescapeDataString(path.Replace("%2F", "\u0001", StringComparison.OrdinalIgnoreCase));
        var segments = new List<string>();
        foreach (var segment in decoded.Split('/'))
        {
            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
            }
            else if (segment is not ("." or ""))
            {
                segments.Add(segment);
            }
        }
        return "/" + string.Join('/', segments).Replace("\u0001", "%2F", StringComparison.Ordinal);
    }

    /// <summary>What one request got: the status (null: closed without one), whether the answer came with the headers, or why none came.</summary>
    private sealed record Outcome(HostileRequest Request, string Target, int? Status, bool HasSecurityHeaders, bool HasContentType, string? Error, string? Answer);
}
