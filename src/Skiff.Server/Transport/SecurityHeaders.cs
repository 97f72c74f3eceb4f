using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Skiff.Server.Transport;

/// <summary>
/// Headers every response of the pipeline carries: API answers hold private data (tasks, logs, keys), so no
/// cache stores them, no browser sniffs or frames them, and over TLS browsers keep to https. Kestrel's own
/// answers to requests it cannot parse (400, 414, 431) never reach the pipeline and carry none.
/// </summary>
internal static class SecurityHeaders
{
    /// <summary>A year: the usual HSTS lifetime; no includeSubDomains, which would bind sites Skiff does not own.</summary>
    private const string StrictTransportSecurity = "max-age=31536000";

    /// <summary>Goes first in the pipeline, so that it sees every response, the exception handler's too.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            // Set as the response starts, not now: the exception handler clears the headers of the response it
            // replaces, and a 500 needs them as much as a 200.
            context.Response.OnStarting(static state => Apply((HttpContext)state), context);
            return next(context);
        });

    private static Task Apply(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
        if (StringValues.IsNullOrEmpty(headers.CacheControl))
        {
            headers.CacheControl = "no-store";
        }
        if (context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = StrictTransportSecurity;
        }
        return Task.CompletedTask;
    }
}
