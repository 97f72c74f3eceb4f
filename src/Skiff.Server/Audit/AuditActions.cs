using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Skiff.Server.Audit;

/// <summary>Names an endpoint's audit action explicitly, overriding the derived name.</summary>
internal sealed record AuditActionMetadata(string Action);

/// <summary>
/// Stable action names for the audit log, derived once per endpoint so endpoints mapped later get one without
/// any audit code: <c>{resource}.{verb}</c>, where the resource is the route's literal segments (dashes
/// dropped) and the verb is the first word of the handler method's name (<c>SubmitAsync</c> → submit,
/// <c>CreateKeyAsync</c> → create, <c>RevokeKeyAsync</c> → revoke). A trailing literal that is the verb, or
/// the handler's whole name, is the verb and not repeated in the resource. So: POST /tasks → tasks.submit,
/// POST /tasks/{taskId}/cancel → tasks.cancel, POST /dead-letter/{taskId}/redrive → deadletter.redrive,
/// POST /users → users.create, DELETE /users/{userId}/keys/{keyId} → users.keys.revoke, POST
/// /secrets/rotate-key (RotateKeyAsync) → secrets.rotatekey. A lambda handler has no useful name: the verb
/// then comes from the HTTP method (POST create, PUT put, PATCH update, DELETE delete), or from a trailing
/// literal after a parameter (POST /x/{id}/restart → x.restart). <see cref="WithAuditAction"/> overrides all
/// of this.
/// </summary>
internal static class AuditActions
{
    /// <summary>Calls that matched no endpoint (404, 405): the path is kept as the target.</summary>
    public const string Unmatched = "unmatched";

    private static readonly ConcurrentDictionary<(Endpoint, string), string> Cache = new();

    public static TBuilder WithAuditAction<TBuilder>(this TBuilder builder, string action) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AuditActionMetadata(action));

    public static string For(Endpoint? endpoint, string httpMethod) =>
        endpoint is null ? Unmatched : Cache.GetOrAdd((endpoint, httpMethod), static key => Derive(key.Item1, key.Item2));

    internal static string Derive(Endpoint endpoint, string httpMethod)
    {
        if (endpoint.Metadata.GetMetadata<AuditActionMetadata>() is { } named)
        {
            return named.Action;
        }
        // The 405 endpoint routing makes for a path that exists with other methods is not a RouteEndpoint.
        if (endpoint is not RouteEndpoint route)
        {
            return Unmatched;
        }
        var segments = route.RoutePattern.PathSegments;
        var literals = segments.Where(IsLiteral).Select(s => Clean(((RoutePatternLiteralPart)s.Parts[0]).Content)).Where(s => s.Length > 0).ToList();
        var handler = endpoint.Metadata.GetMetadata<MethodInfo>();
        var verb = HandlerVerb(handler) ?? MethodVerb(httpMethod, segments);
        // An RPC-style last segment names the verb already (/tasks/{id}/cancel, /secrets/rotate-key by RotateKeyAsync).
        if (literals.Count > 1 && (literals[^1] == verb || literals[^1] == HandlerName(handler)))
        {
            verb = literals[^1];
            literals.RemoveAt(literals.Count - 1);
        }
        return (literals.Count == 0 ? "root" : string.Join('.', literals)) + "." + verb;
    }

    private static bool IsLiteral(RoutePatternPathSegment segment) => segment.IsSimple && segment.Parts[0].IsLiteral;

    /// <summary>The first word of a named handler: "SubmitAsync" → "submit"; null for lambdas and local functions.</summary>
    private static string? HandlerVerb(MethodInfo? method)
    {
        if (!IsNamed(method))
        {
            return null;
        }
        var name = method.Name;
        var end = 1;
        while (end < name.Length && !char.IsUpper(name[end]))
        {
            end++;
        }
        var verb = Clean(name[..end]);
        return verb.Length == 0 ? null : verb;
    }

    /// <summary>A named handler's whole name without "Async": "RotateKeyAsync" → "rotatekey".</summary>
    private static string? HandlerName(MethodInfo? method) =>
        IsNamed(method) ? Clean(method.Name.EndsWith("Async", StringComparison.Ordinal) ? method.Name[..^5] : method.Name) : null;

    private static bool IsNamed([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] MethodInfo? method) =>
        method is not null && !method.Name.Contains('<', StringComparison.Ordinal)
        && !method.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute));

    private static string MethodVerb(string httpMethod, IReadOnlyList<RoutePatternPathSegment> segments)
    {
        if (HttpMethods.IsPost(httpMethod) && segments.Count >= 2 && IsLiteral(segments[^1]) && !IsLiteral(segments[^2]))
        {
            return Clean(((RoutePatternLiteralPart)segments[^1].Parts[0]).Content);
        }
        return httpMethod.ToUpperInvariant() switch
        {
            "POST" => "create",
            "PUT" => "put",
            "PATCH" => "update",
            "DELETE" => "delete",
            var other => Clean(other),
        };
    }

    /// <summary>Lower-case ASCII letters and digits only: "dead-letter" → "deadletter".</summary>
    private static string Clean(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
        }
        return builder.ToString();
    }
}
