using Microsoft.AspNetCore.Http;
using Skiff.Server.Api;
using Skiff.Server.Auth;
using Skiff.Server.Scheduling;

namespace Skiff.Server.Quotas;

/// <summary>Checks made before a task is created, so a refused submission stores nothing.</summary>
internal static class QuotaChecks
{
    /// <summary>A queue drains at its own pace: come back in a few seconds rather than at once.</summary>
    private const int QueuedRetryAfterSeconds = 5;

    /// <summary>
    /// 429 when the caller already has their quota of waiting tasks. Counted from the in-memory queue, so
    /// concurrent submissions of one user may pass the quota by the few that race; it is a limit on backlog,
    /// not an exact ledger.
    /// </summary>
    public static IResult? OverQueuedQuota(HttpContext context, UserQuotas quotas, DispatchQueue queue)
    {
        var caller = context.GetPrincipal();
        var max = quotas.MaxQueued(caller.UserId);
        if (max <= 0 || queue.WaitingFor(caller.UserId) < max)
        {
            return null;
        }
        context.Response.Headers.RetryAfter = QueuedRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.TooManyRequests("maxQueued",
            $"maxQueued: you already have {max} tasks waiting, your quota; retry when some have started, or ask an admin to raise it");
    }
}
