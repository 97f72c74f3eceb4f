using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Skiff.Server.Auth;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Audit;

/// <summary>
/// Records every mutating call (POST, PUT, PATCH, DELETE) in the audit log once it has been answered, whatever
/// the outcome: refused calls (401 with an unknown key, 403, 404, 400) included, which is why it runs before
/// <see cref="ApiKeyMiddleware"/>. The record is queued, not awaited (see <see cref="AuditQueue"/> for when it
/// reaches the disk).
/// <para>
/// What is recorded never comes from the request body or the query string (either may hold a secret): the
/// target is the route's parameter values, or for a 201 the id at the end of the Location header.
/// </para>
/// </summary>
internal sealed class AuditMiddleware(RequestDelegate next, AuditQueue queue, TimeProvider time, ILogger<AuditMiddleware> logger)
{
    /// <summary>Route values and paths longer than this are cut (with "…"): the log is not a place for bulk text.</summary>
    private const int MaxValueLength = 200;

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (!(HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method)))
        {
            await next(context);
            return;
        }
        var at = time.GetUtcNow();
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody gets an answer (the exception handler logs it as 499).
            Record(context, at, StatusCodes.Status499ClientClosedRequest);
            throw;
        }
        catch
        {
            // The exception handler outside this middleware answers 500.
            Record(context, at, StatusCodes.Status500InternalServerError);
            throw;
        }
        Record(context, at, context.Response.StatusCode);
    }

    private void Record(HttpContext context, DateTimeOffset at, int outcome)
    {
        try
        {
            var endpoint = context.GetEndpoint();
            var action = AuditActions.For(endpoint, context.Request.Method);
            var principal = ApiKeyMiddleware.Find(context);
            queue.Enqueue(new AuditEntry(at, principal?.UserId, principal?.KeyId, action, Target(context, endpoint, action, outcome), outcome,
                Source(context.Connection.RemoteIpAddress)));
        }
        catch (Exception ex)
        {
            // The call itself is done and answered: a fault here must not turn its answer into a 500.
            Log.AuditRecordFailed(logger, ex, context.Request.Method, context.Request.Path.Value ?? "");
        }
    }

    private static string? Target(HttpContext context, Endpoint? endpoint, string action, int outcome)
    {
        if (action == AuditActions.Unmatched)
        {
            return Cut(context.Request.Path.Value ?? "");
        }
        if (endpoint is RouteEndpoint route && route.RoutePattern.Parameters.Count > 0)
        {
            var values = new List<string>(route.RoutePattern.Parameters.Count);
            foreach (var parameter in route.RoutePattern.Parameters)
            {
                if (context.Request.RouteValues.TryGetValue(parameter.Name, out var value)
                    && Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) is { Length: > 0 } text)
                {
                    values.Add(Cut(text));
                }
            }
            return values.Count == 0 ? null : string.Join('/', values);
        }
        // A create names what it made in Location (/tasks/t_...): a response header, never the body.
        if (outcome == StatusCodes.Status201Created && context.Response.Headers.Location.ToString() is { Length: > 0 } location)
        {
            var path = location.Split('?', '#')[0].TrimEnd('/');
            var last = path[(path.LastIndexOf('/') + 1)..];
            return last.Length == 0 ? null : Cut(Uri.UnescapeDataString(last));
        }
        return null;
    }

    /// <summary>
    /// The peer's address as Kestrel saw it. Forwarded headers are not trusted here: any client could write
    /// them, and an audit log must not record an address the caller chose.
    /// </summary>
    private static string? Source(IPAddress? address) =>
        address is null ? null : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();

    private static string Cut(string value) => value.Length <= MaxValueLength ? value : value[..MaxValueLength] + "…";
}
