using System.Globalization;

namespace Skiff.Cli.Client;

/// <summary>/audit and /audit/verify (admin).</summary>
internal sealed partial class SkiffClient
{
    public Task<AuditPage> ListAuditAsync(string? userId, string? action, DateTimeOffset? since, int? limit, string? cursor, CancellationToken cancellationToken) =>
        SendJsonAsync(
            new HttpRequestMessage(HttpMethod.Get, "audit" + Query(
                ("userId", userId),
                ("action", action),
                ("since", since?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)),
                ("limit", limit?.ToString(CultureInfo.InvariantCulture)),
                ("cursor", cursor))),
            SkiffJsonContext.Default.AuditPage,
            cancellationToken);

    public Task<AuditVerificationDocument> VerifyAuditAsync(CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Get, "audit/verify"), SkiffJsonContext.Default.AuditVerificationDocument, cancellationToken);
}
