using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Skiff.Server.Tests.Hardening;

/// <summary>A JSON field an endpoint's body accepts, with its .NET type (to choose hostile values of the wrong and the right type).</summary>
internal sealed record BodyField(string Name, Type Type);

/// <summary>One route and method the server maps, as found in its <see cref="EndpointDataSource"/>.</summary>
internal sealed record FuzzEndpoint(string Method, RoutePattern Pattern, IReadOnlyList<BodyField> Fields)
{
    /// <summary>The body media types the endpoint declares (Accepts), e.g. application/x-tar; empty: JSON or none.</summary>
    public IReadOnlyList<string> ContentTypes { get; init; } = [];

    /// <summary>Declared media types that are not JSON: their bodies are fuzzed as bytes, not as fields.</summary>
    public IEnumerable<string> BinaryContentTypes => ContentTypes.Where(c => !c.Contains("json", StringComparison.OrdinalIgnoreCase));

    /// <summary>"/tasks/{taskId}/cancel": the pattern without trailing '/'.</summary>
    public string Route { get; } = "/" + string.Join('/', Pattern.PathSegments.Select(s => string.Concat(s.Parts.Select(PartText))));

    public bool TakesBody => Method is "POST" or "PUT" or "PATCH";

    public override string ToString() => $"{Method} {Route}" + (Fields.Count > 0 ? $" (body: {string.Join(", ", Fields.Select(f => f.Name))})" : "");

    /// <summary>Every route and method of the running server; the same order every run.</summary>
    public static IReadOnlyList<FuzzEndpoint> Discover(EndpointDataSource source, JsonSerializerOptions json) =>
        source.Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST", "PUT", "DELETE"])
                .Select(method => Create(method, e.RoutePattern, e.Metadata.GetMetadata<IAcceptsMetadata>(), json)))
            .DistinctBy(e => (e.Method, e.Route))
            .OrderBy(e => e.Route, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal)
            .ToList();

    private static FuzzEndpoint Create(string method, RoutePattern pattern, IAcceptsMetadata? accepts, JsonSerializerOptions json)
    {
        var types = accepts?.ContentTypes ?? [];
        var takesJson = types.Count == 0 || types.Any(t => t.Contains("json", StringComparison.OrdinalIgnoreCase));
        return new FuzzEndpoint(method, pattern, takesJson ? FieldsOf(accepts?.RequestType, json) : []) { ContentTypes = types };
    }

    private static string PartText(RoutePatternPart part) => part switch
    {
        RoutePatternLiteralPart literal => literal.Content,
        RoutePatternSeparatorPart separator => separator.Content,
        RoutePatternParameterPart parameter => "{" + (parameter.IsCatchAll ? "**" : "") + parameter.Name + "}",
        _ => "",
    };

    /// <summary>The body's fields as the server's own serializer names them; reflection when it does not know the type.</summary>
    private static List<BodyField> FieldsOf(Type? type, JsonSerializerOptions json)
    {
        if (type is null || type == typeof(object) || typeof(Stream).IsAssignableFrom(type) || type == typeof(byte[]))
        {
            return [];
        }
        try
        {
            var info = json.GetTypeInfo(type);
            if (info.Kind == JsonTypeInfoKind.Object)
            {
                return info.Properties.Select(p => new BodyField(p.Name, p.PropertyType)).ToList();
            }
        }
        catch (NotSupportedException)
        {
            // Not in the server's resolver chain: fall back to the public properties, camelCased.
        }
        return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => new BodyField(JsonNamingPolicy.CamelCase.ConvertName(p.Name), p.PropertyType))
            .ToList();
    }
}

/// <summary>One generated request: the target exactly as sent, headers (Latin-1 chars become single bytes) and body.</summary>
internal sealed record HostileRequest(FuzzEndpoint Endpoint, string Method, string Target, string Category)
{
    /// <summary>Send the admin key; otherwise none, or the hostile Authorization in <see cref="Headers"/>.</summary>
    public bool Authenticated { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public byte[]? Body { get; init; }

    public string? ContentType { get; init; }

    /// <summary>Over a size limit: the server may answer and close while the client still sends.</summary>
    public bool MayBeCutOff { get; init; }

    /// <summary>Sent as raw bytes over TCP (exactly these bytes; <see cref="Target"/> is informational).</summary>
    public byte[]? Raw { get; init; }

    public override string ToString()
    {
        var text = new StringBuilder($"{Method} {Shorten(Target, 160)} [{Category}] {(Authenticated ? "admin key" : "no valid key")}");
        foreach (var (name, value) in Headers)
        {
            text.Append(CultureInfo.InvariantCulture, $" | {name}: {Shorten(value, 80)}");
        }
        if (ContentType is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" | Content-Type: {ContentType}");
        }
        if (Body is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" | body ({Body.Length} bytes): {Shorten(Encoding.Latin1.GetString(Body, 0, Math.Min(Body.Length, 200)), 120)}");
        }
        if (Raw is not null)
        {
            text.Append(" | raw: ").Append(Infrastructure.RawHttp.Describe(Raw));
        }
        return text.ToString();
    }

    private static string Shorten(string value, int max) =>
        (value.Length <= max ? value : value[..max] + $"…({value.Length} chars)").Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}

/// <summary>
/// Generates the hostile requests for a set of endpoints, deterministically from a seed: every path parameter,
/// query, header, credential and body family in <see cref="HostileCatalog"/>, plus seeded random mutations.
/// </summary>
internal sealed class HostileRequests(
    int seed,
    string adminKey,
    IReadOnlyDictionary<string, string> realValues,
    IReadOnlyDictionary<string, string> validBodies,
    IReadOnlyDictionary<string, string> validQueries)
{
    /// <summary>A parameter value that names nothing: the request then fails on what the test varies, not on a lookup.</summary>
    public const string Nothing = "no-such-thing";

    private const double AnonymousShare = 0.2;
    private const int RandomBodiesPerEndpoint = 40;

    private readonly Random _random = new(seed);

    public List<HostileRequest> Generate(IReadOnlyList<FuzzEndpoint> endpoints)
    {
        var requests = new List<HostileRequest>();
        foreach (var endpoint in endpoints)
        {
            var generated = new List<HostileRequest>();
            generated.AddRange(PathParameters(endpoint));
            generated.AddRange(Queries(endpoint));
            generated.AddRange(HeaderValues(endpoint));
            generated.AddRange(Credentials(endpoint));
            generated.AddRange(endpoint.TakesBody ? Bodies(endpoint) : BodiesWhereNoneIsExpected(endpoint));
            generated.AddRange(RawBytes(endpoint));
            requests.AddRange(generated);
            // The same request without a key: it must be refused before anything else happens.
            requests.AddRange(generated.Where(r => r.Authenticated && r.Raw is null && _random.NextDouble() < AnonymousShare)
                .Select(r => r with { Authenticated = false, Category = r.Category + ", no key" }));
        }
        foreach (var route in endpoints.GroupBy(e => e.Route))
        {
            requests.AddRange(UnmappedMethods(route.First(), route.Select(e => e.Method).ToHashSet()));
        }
        requests.AddRange(ProtocolGarbage(endpoints));
        return requests;
    }

    /// <summary>The route with each parameter replaced: the chosen one by <paramref name="value"/>, the others by real or absent values.</summary>
    private string Path(FuzzEndpoint endpoint, string? parameter = null, string? value = null)
    {
        var path = new StringBuilder();
        foreach (var segment in endpoint.Pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                path.Append(part switch
                {
                    RoutePatternLiteralPart literal => literal.Content,
                    RoutePatternSeparatorPart separator => separator.Content,
                    RoutePatternParameterPart p when p.Name == parameter => value,
                    // Real values only beside a fuzzed parameter, so that it is reached, and only for reads: a write to a
                    // real task or user would change the store, and a real task's log would stream until the task ends.
                    RoutePatternParameterPart p when parameter is not null && endpoint.Method == "GET" && realValues.TryGetValue(p.Name, out var real) => real,
                    _ => Nothing,
                });
            }
        }
        return path.Length == 0 ? "/" : path.ToString();
    }

    /// <summary>The query an endpoint needs before it reads its body (POST /images?name=...), when the test knows one.</summary>
    private string WithValidQuery(FuzzEndpoint endpoint, string path) =>
        validQueries.TryGetValue($"{endpoint.Method} {endpoint.Route}", out var query) ? path + "?" + query : path;

    private byte[]? BaseBody(FuzzEndpoint endpoint) =>
        validBodies.TryGetValue($"{endpoint.Method} {endpoint.Route}", out var body) ? Encoding.UTF8.GetBytes(body) : endpoint.TakesBody ? "{}"u8.ToArray() : null;

    private HostileRequest New(FuzzEndpoint endpoint, string target, string category, byte[]? body = null, string? contentType = "application/json") =>
        new(endpoint, endpoint.Method, target, category)
        {
            Authenticated = true,
            Body = body,
            ContentType = body is null ? null : contentType,
        };

    private IEnumerable<HostileRequest> PathParameters(FuzzEndpoint endpoint)
    {
        foreach (var parameter in endpoint.Pattern.Parameters)
        {
            var values = parameter.IsCatchAll ? HostileCatalog.PathValues.Concat(HostileCatalog.CatchAllValues) : HostileCatalog.PathValues;
            foreach (var value in values)
            {
                yield return New(endpoint, Path(endpoint, parameter.Name, value), $"path {{{parameter.Name}}}", BaseBody(endpoint));
            }
        }
    }

    private IEnumerable<HostileRequest> Queries(FuzzEndpoint endpoint)
    {
        var path = Path(endpoint);
        foreach (var query in HostileCatalog.FixedQueries)
        {
            yield return New(endpoint, path + "?" + query, "query", BaseBody(endpoint));
        }
        for (var i = 0; i < 30; i++)
        {
            var name = Pick(HostileCatalog.QueryNames);
            yield return New(endpoint, $"{path}?{name}={Pick(HostileCatalog.QueryValues)}", $"query {name}", BaseBody(endpoint));
        }
    }

    private IEnumerable<HostileRequest> HeaderValues(FuzzEndpoint endpoint)
    {
        var path = Path(endpoint);
        var body = BaseBody(endpoint);
        HostileRequest With(string category, bool cutOff = false, params (string Name, string Value)[] headers) =>
            New(endpoint, path, category, body) with { Headers = headers.Select(h => KeyValuePair.Create(h.Name, h.Value)).ToList(), MayBeCutOff = cutOff };

        foreach (var key in new[] { HostileCatalog.SqlOr, HostileCatalog.SqlDrop, new string('k', 201), new string('k', 10_000), "\u00ff\u00fe", "\u00c3\u0028", " ", "../../etc/passwd" })
        {
            yield return With("Idempotency-Key", false, ("Idempotency-Key", key));
        }
        yield return With("one 30 KB header", false, ("X-Padding", new string('p', 30 * 1024)));
        yield return With("one 40 KB header", true, ("X-Padding", new string('p', 40 * 1024)));
        yield return With("120 headers", true, [.. Enumerable.Range(0, 120).Select(i => ($"X-H{i}", "v"))]);
        yield return With("99 headers of 300 bytes", true, [.. Enumerable.Range(0, 99).Select(i => ($"X-H{i}", new string('v', 300)))]);
        yield return With("invalid UTF-8 header", false, ("X-Note", "\u00ff\u00c0\u00af\u00ed\u00a0\u0080"));
        yield return With("Accept xml", false, ("Accept", "application/xml"));
        yield return With("Accept garbage", false, ("Accept", "*/*;q=abc, \u00ff"));
        yield return With("Origin SQL", false, ("Origin", HostileCatalog.SqlOr));
        yield return With("Origin null", false, ("Origin", "null"));
        yield return With("Host", false, ("Host", "evil.example"));
        yield return With("Host port", false, ("Host", "127.0.0.1:99999"));
        yield return With("forwarded", false, ("X-Forwarded-For", HostileCatalog.SqlOr), ("X-Forwarded-Proto", "gopher"), ("X-Original-URL", "/health"));
        yield return With("Range huge", false, ("Range", "bytes=0-99999999999999999999"));
        yield return With("Range negative", false, ("Range", "bytes=-1,-2,-3"));
        yield return With("conditional", false, ("If-None-Match", "*"), ("If-Modified-Since", "yesterday"));
        yield return With("Cookie", false, ("Cookie", "session=" + HostileCatalog.SqlOr));
        yield return With("method override", false, ("X-HTTP-Method-Override", "DELETE"), ("X-Method-Override", "PUT"));
    }

    private IEnumerable<HostileRequest> Credentials(FuzzEndpoint endpoint)
    {
        var path = Path(endpoint);
        foreach (var authorization in HostileCatalog.HostileAuthorizations(adminKey))
        {
            yield return New(endpoint, path, "Authorization", BaseBody(endpoint)) with
            {
                Authenticated = false,
                Headers = [KeyValuePair.Create("Authorization", authorization)],
            };
        }
    }

    private IEnumerable<HostileRequest> Bodies(FuzzEndpoint endpoint)
    {
        var path = WithValidQuery(endpoint, Path(endpoint));
        foreach (var contentType in endpoint.BinaryContentTypes)
        {
            foreach (var (name, body, cutOff) in HostileCatalog.ArchiveBodies(seed, _random))
            {
                yield return New(endpoint, path, $"{contentType}: {name}", body, contentType) with { MayBeCutOff = cutOff };
            }
        }
        var firstField = endpoint.Fields.Count > 0 ? endpoint.Fields[0].Name : "name";
        var baseBody = validBodies.GetValueOrDefault($"{endpoint.Method} {endpoint.Route}") ?? "{}";
        foreach (var body in HostileCatalog.MalformedBodies)
        {
            yield return New(endpoint, path, "malformed JSON", Encoding.UTF8.GetBytes(body));
        }
        foreach (var (name, body) in HostileCatalog.NestedBodies())
        {
            yield return New(endpoint, path, "nesting: " + name, Encoding.UTF8.GetBytes(body));
        }
        foreach (var field in endpoint.Fields)
        {
            yield return New(endpoint, path, $"nesting in {field.Name}", Encoding.UTF8.GetBytes($"{{\"{field.Name}\":{new string('[', 200)}{new string(']', 200)}}}"));
            yield return New(endpoint, path, $"nesting in {field.Name}",
                Encoding.UTF8.GetBytes($"{{\"{field.Name}\":{string.Concat(Enumerable.Repeat("{\"a\":", 100))}1{new string('}', 101)}"));
        }
        foreach (var (name, body) in HostileCatalog.InvalidUtf8Bodies(firstField))
        {
            yield return New(endpoint, path, "invalid UTF-8: " + name, body);
        }
        // Text that is not text, where each field keeps its strings: in it, in its values, in its items.
        foreach (var field in endpoint.Fields)
        {
            var (open, close) = Wrapping(field.Type);
            var marked = Encoding.UTF8.GetBytes(WithField(baseBody, field.Name, $"{open}\"{Marker}\"{close}"));
            yield return New(endpoint, path, $"invalid UTF-8 in {field.Name}", Replace(marked, Marker, [0xC3, 0x28]));
            yield return New(endpoint, path, $"lone surrogate in {field.Name}", Replace(marked, Marker, "\\ud800"u8.ToArray()));
        }

        // Each known field, in turn, given every hostile value, on top of a body that is otherwise valid.
        foreach (var field in endpoint.Fields)
        {
            foreach (var value in HostileCatalog.JsonValues)
            {
                yield return New(endpoint, path, $"field {field.Name}", Encoding.UTF8.GetBytes(WithField(baseBody, field.Name, value)));
            }
        }
        // Every string the body holds, at once, hostile but of the right type.
        foreach (var text in HostileCatalog.EveryStringValues)
        {
            var every = new JsonObject();
            foreach (var field in endpoint.Fields)
            {
                every[field.Name] = TypedValue(field.Type, text);
            }
            yield return New(endpoint, path, "every string", Encoding.UTF8.GetBytes(every.ToJsonString()));
        }
        foreach (var unknown in new[] { "{\"unknownField\":1}", "{\"" + HostileCatalog.SqlOr + "\":1}", "{\"__proto__\":null}", "{\"$type\":\"System.IO.FileInfo\"}" })
        {
            yield return New(endpoint, path, "unknown field", Encoding.UTF8.GetBytes(unknown));
            yield return New(endpoint, path, "unknown field", Encoding.UTF8.GetBytes(WithField(baseBody, "unknownField", unknown)));
        }
        yield return New(endpoint, path, "duplicate field", Encoding.UTF8.GetBytes($"{{\"{firstField}\":1,\"{firstField}\":\"x\"}}"));
        yield return New(endpoint, path, "case-changed field", Encoding.UTF8.GetBytes($"{{\"{firstField.ToUpperInvariant()}\":{HostileCatalog.Json(HostileCatalog.SqlOr)}}}"));
        foreach (var contentType in HostileCatalog.ContentTypes)
        {
            yield return New(endpoint, path, "Content-Type", Encoding.UTF8.GetBytes(baseBody), contentType);
        }
        yield return New(endpoint, path, "no body");
        yield return New(endpoint, path, "empty body, JSON type", []);
        yield return New(endpoint, path, "empty body, no type", [], contentType: null);
        yield return New(endpoint, path, "JSON body, no type", Encoding.UTF8.GetBytes(baseBody), contentType: null);
        yield return New(endpoint, path, "huge body", Encoding.UTF8.GetBytes($"{{\"{firstField}\":\"{new string('h', (1024 * 1024) + 64)}\"}}")) with { MayBeCutOff = true };
        yield return New(endpoint, path, "huge body", Encoding.UTF8.GetBytes(new string('[', 3 * 1024 * 1024))) with { MayBeCutOff = true };
        for (var i = 0; i < RandomBodiesPerEndpoint; i++)
        {
            yield return New(endpoint, path, "random body", RandomBody(endpoint));
        }
    }

    /// <summary>GET and DELETE take no body; sending one anyway must change nothing.</summary>
    private IEnumerable<HostileRequest> BodiesWhereNoneIsExpected(FuzzEndpoint endpoint)
    {
        var path = Path(endpoint);
        yield return New(endpoint, path, "unexpected body", "{"u8.ToArray());
        yield return New(endpoint, path, "unexpected body", Encoding.UTF8.GetBytes(new string('[', 10_000)));
        yield return New(endpoint, path, "unexpected body", [0xC3, 0x28, 0xFF]);
        yield return New(endpoint, path, "unexpected huge body", new byte[(1024 * 1024) + 1]) with { MayBeCutOff = true };
    }

    private IEnumerable<HostileRequest> UnmappedMethods(FuzzEndpoint endpoint, HashSet<string> mapped)
    {
        foreach (var method in new[] { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "TRACE", "PROPFIND", "FOO" }.Where(m => !mapped.Contains(m)))
        {
            yield return new HostileRequest(endpoint, method, Path(endpoint), "unmapped method") { Authenticated = true };
        }
    }

    /// <summary>Requests no HTTP client would send: raw bytes 0x80–0xFF and NUL in the request line and headers, broken framing.</summary>
    private IEnumerable<HostileRequest> RawBytes(FuzzEndpoint endpoint)
    {
        var parameter = endpoint.Pattern.Parameters.Count > 0 ? endpoint.Pattern.Parameters[0].Name : null;
        var paths = parameter is null
            ? new[] { Path(endpoint) + "?q=\u00ff\u00fe", Path(endpoint) + "/\u00c3\u0028", Path(endpoint) + "?a=\u0000" }
            : new[] { "\u00c3\u0028", "\u00ff\u00fe\u00fd", "\u00c0\u00af..\u00c0\u00afetc", "a\u0000b", "a b", "\u00ed\u00a0\u0080" }.Select(v => Path(endpoint, parameter, v));
        foreach (var path in paths)
        {
            yield return Raw(endpoint, endpoint.Method, path, "raw bytes in the path", authenticated: true, extraHeaders: "", body: BaseBody(endpoint));
        }
        var plain = WithValidQuery(endpoint, Path(endpoint));
        yield return Raw(endpoint, endpoint.Method, plain, "raw bytes in a header", true, "X-Note: \u00ff\u00fe\u00c0\u00af\r\n", BaseBody(endpoint));
        yield return Raw(endpoint, endpoint.Method, plain, "raw bytes in the key", false, "Authorization: Bearer \u00c3\u0028\u00ff\r\n", BaseBody(endpoint));
        yield return Raw(endpoint, endpoint.Method, plain, "NUL in a header", true, "X-Note: a\u0000b\r\n", BaseBody(endpoint));
        yield return Raw(endpoint, endpoint.Method, plain, "Idempotency-Key bytes", true, "Idempotency-Key: \u00ed\u00a0\u0080\r\n", BaseBody(endpoint));
        if (!endpoint.TakesBody)
        {
            yield break;
        }
        var json = "{\"a\":1}";
        var type = endpoint.BinaryContentTypes.FirstOrDefault() ?? "application/json";
        foreach (var (name, framing) in new[]
        {
            ("bad chunk size", "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
            ("huge chunk size", "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
            ("chunk overruns", "Transfer-Encoding: chunked\r\n\r\n2\r\n{\"a\":1}\r\n0\r\n\r\n"),
            ("chunked and length", $"Transfer-Encoding: chunked\r\nContent-Length: {json.Length}\r\n\r\n{json}"),
            ("gzip not chunked", $"Transfer-Encoding: gzip\r\n\r\n{json}"),
            ("negative length", $"Content-Length: -1\r\n\r\n{json}"),
            ("two lengths", $"Content-Length: {json.Length}, {json.Length + 1}\r\n\r\n{json}"),
            ("length not a number", $"Content-Length: abc\r\n\r\n{json}"),
            ("length 2^64", $"Content-Length: 18446744073709551616\r\n\r\n{json}"),
            ("length shorter than body", $"Content-Length: 3\r\n\r\n{json}"),
        })
        {
            yield return Raw(endpoint, endpoint.Method, plain, "framing: " + name, true, $"Content-Type: {type}\r\n" + framing, body: null);
        }
    }

    private HostileRequest Raw(FuzzEndpoint endpoint, string method, string target, string category, bool authenticated, string extraHeaders, byte[]? body)
    {
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if (authenticated)
        {
            head.Append("Authorization: Bearer ").Append(adminKey).Append("\r\n");
        }
        head.Append(extraHeaders);
        if (body is not null)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        }
        else if (!extraHeaders.Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            head.Append("\r\n");
        }
        return new HostileRequest(endpoint, method, target, category)
        {
            Authenticated = authenticated,
            Raw = [.. Encoding.Latin1.GetBytes(head.ToString()), .. body ?? []],
        };
    }

    /// <summary>Broken HTTP aimed at the server as a whole, once each, with and without the key.</summary>
    private IEnumerable<HostileRequest> ProtocolGarbage(IReadOnlyList<FuzzEndpoint> endpoints)
    {
        var health = endpoints.First(e => e.Route == "/health");
        var host = "Host: 127.0.0.1\r\n";
        var requests = new (string Name, string Text)[]
        {
            ("garbage", "GARBAGE\r\n\r\n"),
            ("HTTP/9.9", "GET /health HTTP/9.9\r\n" + host + "\r\n"),
            ("no Host", "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"),
            ("two Hosts", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            ("absolute-form", "GET http://evil.example/tasks HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"),
            ("asterisk GET", "GET * HTTP/1.1\r\n" + host + "\r\n"),
            ("OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\n" + host + "\r\n"),
            ("bare LF", "GET /health HTTP/1.1\n" + "Host: x\nConnection: close\n\n"),
            ("obs-fold", "GET /health HTTP/1.1\r\n" + host + " folded: y\r\nConnection: close\r\n\r\n"),
            ("space in header name", "GET /health HTTP/1.1\r\n" + host + "Bad Header: y\r\n\r\n"),
            ("empty header name", "GET /health HTTP/1.1\r\n" + host + ": empty\r\n\r\n"),
            ("no colon", "GET /health HTTP/1.1\r\n" + host + "NoColonHere\r\n\r\n"),
            ("40 KB header", "GET /tasks HTTP/1.1\r\n" + host + "X: " + new string('x', 40 * 1024) + "\r\n\r\n"),
            ("10 KB request line", "GET /tasks/" + new string('a', 10 * 1024) + " HTTP/1.1\r\n" + host + "\r\n"),
            ("200-char method", new string('M', 200) + " /health HTTP/1.1\r\n" + host + "\r\n"),
            ("NUL in method", "G\u0000T /health HTTP/1.1\r\n" + host + "\r\n"),
            ("leading CRLFs", "\r\n\r\nGET /health HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ("TLS ClientHello", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003\r\n\r\n"),
            ("raw dot segments", "GET /../../../../etc/passwd HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("encoded dot segments", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("open prefix then dots", "GET /health/../tasks HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("open prefix then encoded dots", "GET /metrics/..%2Ftasks HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("double slash", "GET //tasks HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("backslash", "GET /health\\..\\tasks HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
            ("HTTP/1.0 body, no length", "POST /tasks HTTP/1.0\r\nContent-Type: application/json\r\n\r\n{\"command\":[\"true\"]}"),
            ("fragment in target", "GET /tasks#x HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
        };
        foreach (var (name, text) in requests)
        {
            yield return new HostileRequest(health, "RAW", "-", "protocol: " + name) { Raw = Encoding.Latin1.GetBytes(text) };
            var withKey = text.Replace("\r\n\r\n", $"\r\nAuthorization: Bearer {adminKey}\r\n\r\n", StringComparison.Ordinal);
            if (withKey != text && text.IndexOf("\r\n\r\n", StringComparison.Ordinal) == text.LastIndexOf("\r\n\r\n", StringComparison.Ordinal))
            {
                yield return new HostileRequest(health, "RAW", "-", "protocol: " + name) { Authenticated = true, Raw = Encoding.Latin1.GetBytes(withKey) };
            }
        }
    }

    /// <summary>Seeded random documents: known and unknown fields, hostile and random values, sometimes corrupted bytes.</summary>
    private byte[] RandomBody(FuzzEndpoint endpoint)
    {
        var document = new JsonObject();
        foreach (var field in endpoint.Fields.Where(_ => _random.NextDouble() < 0.5))
        {
            document[field.Name] = _random.NextDouble() < 0.5 ? ParseOrText(Pick(HostileCatalog.JsonValues)) : RandomNode(3);
        }
        if (_random.NextDouble() < 0.3)
        {
            document["x" + _random.Next(1000).ToString(CultureInfo.InvariantCulture)] = RandomNode(2);
        }
        var bytes = Encoding.UTF8.GetBytes(document.ToJsonString());
        switch (_random.Next(6))
        {
            case 0 when bytes.Length > 2:
                bytes[_random.Next(bytes.Length)] = (byte)_random.Next(256);
                break;
            case 1 when bytes.Length > 2:
                return bytes[.._random.Next(1, bytes.Length)];
            case 2:
                var at = _random.Next(bytes.Length);
                return [.. bytes[..at], 0xFF, .. bytes[at..]];
        }
        return bytes;
    }

    private JsonNode? RandomNode(int depth) => _random.Next(depth <= 0 ? 5 : 7) switch
    {
        0 => null,
        1 => JsonValue.Create(_random.NextDouble() < 0.5),
        2 => JsonValue.Create(_random.NextInt64(long.MinValue, long.MaxValue)),
        3 => JsonValue.Create(Pick(HostileCatalog.EveryStringValues) is var text && text.Length > 64 ? text[..64] : text),
        4 => JsonValue.Create(_random.NextDouble() * double.MaxValue),
        5 => new JsonArray([.. Enumerable.Range(0, _random.Next(4)).Select(_ => RandomNode(depth - 1))]),
        _ => new JsonObject(Enumerable.Range(0, _random.Next(4)).Select(i => KeyValuePair.Create("k" + i.ToString(CultureInfo.InvariantCulture), RandomNode(depth - 1)))),
    };

    private T Pick<T>(IReadOnlyList<T> values) => values[_random.Next(values.Count)];

    /// <summary>The JSON as a node; as a string when the node model refuses it (a lone surrogate escape).</summary>
    private static JsonNode? ParseOrText(string json)
    {
        try
        {
            var node = JsonNode.Parse(json);
            _ = node?.ToJsonString(); // Parsed lazily: a lone surrogate escape fails only when written.
            return node;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return JsonValue.Create(json);
        }
    }

    /// <summary><paramref name="json"/> (an object) with <paramref name="field"/> set to the raw JSON <paramref name="value"/>.</summary>
    private static string WithField(string json, string field, string value)
    {
        var rest = json.Trim().TrimStart('{').TrimEnd('}').Trim();
        var kept = rest.Length == 0 ? "" : string.Join(',', SplitTopLevel(rest).Where(p => !p.TrimStart().StartsWith($"\"{field}\"", StringComparison.Ordinal)));
        return "{" + (kept.Length == 0 ? "" : kept + ",") + HostileCatalog.Json(field) + ":" + value + "}";
    }

    /// <summary>Splits "a":1,"b":[1,2] at its top-level commas (the base bodies are small, plain JSON).</summary>
    private static IEnumerable<string> SplitTopLevel(string members)
    {
        var depth = 0;
        var inString = false;
        var start = 0;
        for (var i = 0; i < members.Length; i++)
        {
            var c = members[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
                continue;
            }
            switch (c)
            {
                case '"':
                    inString = true;
                    break;
                case '[' or '{':
                    depth++;
                    break;
                case ']' or '}':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return members[start..i];
                    start = i + 1;
                    break;
            }
        }
        yield return members[start..];
    }

    private const string Marker = "@@HOSTILE@@";

    /// <summary>What goes around a string so that it sits where the field keeps its strings.</summary>
    private static (string Open, string Close) Wrapping(Type type) => TypedValue(type, "") switch
    {
        JsonObject => ("{\"k\":", "}"),
        JsonArray => ("[", "]"),
        _ => ("", ""),
    };

    private static byte[] Replace(byte[] bytes, string marker, byte[] with)
    {
        var at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker));
        return [.. bytes[..at], .. with, .. bytes[(at + marker.Length)..]];
    }

    /// <summary>A value of the field's own type holding <paramref name="text"/> wherever a string fits.</summary>
    private static JsonNode? TypedValue(Type type, string text)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return JsonValue.Create(text);
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)))
        {
            return new JsonObject { [text.Length > 1000 ? "k" : text] = JsonValue.Create(text) };
        }
        if (type.IsArray || (type.IsGenericType && typeof(System.Collections.IEnumerable).IsAssignableFrom(type)))
        {
            return new JsonArray(JsonValue.Create(text), JsonValue.Create(text));
        }
        // Numbers, booleans, times: a string where they expect something else.
        return JsonValue.Create(text);
    }
}
