using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Skiff.Server.Api;

namespace Skiff.Server.Auth;

/// <summary>
/// Role checks as endpoint filters, so each endpoint states what it needs where it is mapped. Runs after
/// <see cref="ApiKeyMiddleware"/>: the caller is already known.
/// </summary>
internal static class RoleFilters
{
    /// <summary>Only callers who may change things (admins and users; not viewers).</summary>
    public static TBuilder RequireWriter<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(static async (context, next) => context.HttpContext.GetPrincipal().CanWrite
            ? await next(context)
            : Problems.Forbidden("role: viewers can read their own tasks but cannot change anything"));

    /// <summary>Only admins.</summary>
    public static TBuilder RequireAdmin<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(static async (context, next) => context.HttpContext.GetPrincipal().IsAdmin
            ? await next(context)
            : Problems.Forbidden("role: only an admin may do this"));
}
