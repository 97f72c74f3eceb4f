using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Skiff.Core.Validation;
using Skiff.Server.Api;
using Skiff.Server.Auth;
using Skiff.Storage.Contract;

namespace Skiff.Server.Audit;

/// <summary>GET /audit (filtered, newest first) and GET /audit/verify; admins only.</summary>
internal static partial class AuditEndpoints
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;
    private const int MaxUserIdLength = 200;

    /// <summary>RFC 3339 times (the offset may be left out: UTC), or a bare date (midnight UTC).</summary>
    private static readonly string[] TimeFormats = ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd"];

    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/audit").WithTags("Audit").RequireAdmin();
        audit.MapGet("/", ListAsync).Produces<AuditListDocument>().ProducesValidationProblem()
            .WithSummary("Audit records of mutating calls, newest first; filter by userId, action, since (inclusive), until (exclusive) (admin).");
        audit.MapGet("/verify", VerifyAsync).Produces<AuditVerificationDocument>()
            .WithSummary("Walks the whole audit log and checks every record's hash link (admin).");
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext context, ITaskStore store)
    {
        var query = context.Request.Query;
        var errors = new ValidationErrors();
        var userId = query["userId"].ToString();
        if (userId.Length > MaxUserIdLength)
        {
            errors.Add("userId", $"at most {MaxUserIdLength} characters");
        }
        var action = query["action"].ToString();
        if (action.Length > 0 && !ActionPattern().IsMatch(action))
        {
            errors.Add("action", "must be an action name such as tasks.submit (lower-case letters, digits and dots)");
        }
        var since = TimeParameter(query, "since", errors);
        var until = TimeParameter(query, "until", errors);
        if (since is not null && until is not null && until <= since)
        {
            errors.Add("until", "must be later than since");
        }
        var limit = QueryParameters.Int(query, "limit", 1, MaxPageSize, errors) ?? DefaultPageSize;
        var cursor = QueryParameters.Cursor(query, errors);
        if (!errors.IsValid)
        {
            return Problems.Validation(errors);
        }
        var page = await store.Audit.ListAsync(
            new AuditQuery(userId.Length == 0 ? null : userId, action.Length == 0 ? null : action, since, until, cursor, limit),
            context.RequestAborted);
        return TypedResults.Ok(new AuditListDocument(
            page.Items.Select(AuditRecordDocument.From).ToList(),
            page.NextCursor?.ToString(CultureInfo.InvariantCulture)));
    }

    private static async Task<IResult> VerifyAsync(HttpContext context, ITaskStore store)
    {
        var result = await store.Audit.VerifyAsync(context.RequestAborted);
        return TypedResults.Ok(new AuditVerificationDocument(result.Valid, result.Records, result.FirstBrokenSeq,
            result.LastHash is null ? null : Convert.ToHexStringLower(result.LastHash)));
    }

    private static DateTimeOffset? TimeParameter(IQueryCollection query, string name, ValidationErrors errors)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return null;
        }
        if (!DateTimeOffset.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            errors.Add(name, "must be a time such as 2025-03-01T12:00:00Z");
            return null;
        }
        return value;
    }

    [GeneratedRegex("^[a-z0-9]+(\\.[a-z0-9]+)*$")]
    private static partial Regex ActionPattern();
}
