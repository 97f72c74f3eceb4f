using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Skiff.Server.Api;
using Skiff.Server.Auth;
using Skiff.Server.Hosting;

namespace Skiff.Server.Quotas;

/// <summary>
/// A per-user token bucket on submissions (ASP.NET Core's rate limiter, partitioned by user id). Admins are not
/// limited: they operate the server. Over the rate: 429 with Retry-After and a problem naming the limit.
/// </summary>
internal static class SubmitRateLimiting
{
    public const string Policy = "submit";

    /// <summary>Buckets refill in tenths of a second, so a user at the limit is not held back for a whole second.</summary>
    private static readonly TimeSpan Replenishment = TimeSpan.FromMilliseconds(100);

    public static IServiceCollection AddSubmitRateLimiting(this IServiceCollection services)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<SkiffOptions>>().Value;
                var caller = context.GetPrincipal();
                if (caller.IsAdmin || options.SubmitRatePerSecond == 0)
                {
                    return RateLimitPartition.GetNoLimiter("unlimited");
                }
                return RateLimitPartition.GetTokenBucketLimiter(caller.UserId, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.SubmitBurst,
                    // Whole tenths when the rate allows (smoother), else once a second (exact for small rates).
                    TokensPerPeriod = options.SubmitRatePerSecond % 10 == 0 ? options.SubmitRatePerSecond / 10 : options.SubmitRatePerSecond,
                    ReplenishmentPeriod = options.SubmitRatePerSecond % 10 == 0 ? Replenishment : TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = static async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                var options = http.RequestServices.GetRequiredService<IOptions<SkiffOptions>>().Value;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await Problems.TooManyRequests("submitRate",
                        $"submitRate: at most {options.SubmitRatePerSecond} submissions per second per user (bursts of {options.SubmitBurst}); retry later")
                    .ExecuteAsync(http);
            };
        });
        return services;
    }
}
