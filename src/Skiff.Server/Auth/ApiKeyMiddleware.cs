using Microsoft.AspNetCore.Http;
using Skiff.Server.Api;

namespace Skiff.Server.Auth;

/// <summary>Every endpoint but /health, /metrics and the OpenAPI document needs "Authorization: Bearer KEY".</summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyAuthenticator authenticator)
{
    private static readonly object PrincipalKey = new();

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/openapi"))
        {
            await next(context);
            return;
        }
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            await Unauthorized(context, "missing API key: send the header 'Authorization: Bearer <key>'");
            return;
        }
        var principal = await authenticator.AuthenticateAsync(header["Bearer ".Length..].Trim(), context.RequestAborted);
        if (principal is null)
        {
            await Unauthorized(context, "the API key is not valid (unknown, revoked or expired)");
            return;
        }
        context.Items[PrincipalKey] = principal;
        await next(context);
    }

    private static Task Unauthorized(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Status(StatusCodes.Status401Unauthorized, "Unauthorized", detail).ExecuteAsync(context);
    }

    public static SkiffPrincipal Get(HttpContext context) =>
        context.Items[PrincipalKey] as SkiffPrincipal ?? throw new InvalidOperationException("endpoint reached without authentication");

    /// <summary>The caller, or null when the request was not (or not successfully) authenticated.</summary>
    public static SkiffPrincipal? Find(HttpContext context) => context.Items[PrincipalKey] as SkiffPrincipal;
}

internal static class PrincipalExtensions
{
    public static SkiffPrincipal GetPrincipal(this HttpContext context) => ApiKeyMiddleware.Get(context);
}
