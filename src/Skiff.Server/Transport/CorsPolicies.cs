using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Skiff.Server.Hosting;

namespace Skiff.Server.Transport;

/// <summary>
/// Browser access from the origins in <see cref="SkiffOptions.CorsOrigins"/> (<c>--cors-origin</c>), through
/// ASP.NET Core's CORS middleware. Without origins there is no policy and no response carries CORS headers.
/// </summary>
internal static class CorsPolicies
{
    /// <summary>What the API needs from a browser: the key, JSON bodies and idempotent submits.</summary>
    private static readonly string[] AllowedHeaders = ["Authorization", "Content-Type", "Idempotency-Key"];

    private static readonly string[] AllowedMethods = ["GET", "POST", "PUT", "DELETE"];

    public static IServiceCollection AddSkiffCors(this IServiceCollection services)
    {
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<SkiffOptions>>(static (cors, skiff) =>
        {
            if (skiff.Value.CorsOrigins is not { Length: > 0 } origins)
            {
                return;
            }
            // No AllowCredentials: the API authenticates with a bearer key a page sends itself, never with
            // cookies, so a page from another origin cannot borrow a signed-in user's access.
            cors.AddDefaultPolicy(policy => policy
                .WithOrigins(origins)
                .WithMethods(AllowedMethods)
                .WithHeaders(AllowedHeaders)
                .WithExposedHeaders("Location", "WWW-Authenticate")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10)));
        });
        return services;
    }
}

/// <summary>Each entry is an origin as browsers send it: <c>scheme://host[:port]</c>, nothing after it.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class CorsOriginsAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        var bad = (value as IEnumerable<string> ?? []).Where(origin => !IsOrigin(origin)).ToList();
        return bad.Count == 0
            ? ValidationResult.Success
            : new ValidationResult(
                $"{validationContext.MemberName}: {string.Join(", ", bad.Select(b => $"'{b}'"))} is not an origin: scheme://host[:port] with nothing after it, e.g. https://dashboard.example.com",
                validationContext.MemberName is { } member ? [member] : null);
    }

    /// <summary>http or https, a host, no user info, path, query or fragment (not even a trailing '/').</summary>
    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.UserInfo.Length == 0
        && string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase);
}
