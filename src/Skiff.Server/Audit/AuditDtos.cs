using Skiff.Storage.Contract;

namespace Skiff.Server.Audit;

/// <summary>One audit record as GET /audit returns it; <see cref="Hash"/> is hex.</summary>
public sealed record AuditRecordDocument(
    long Seq, DateTimeOffset At, string? UserId, string? KeyId, string Action, string? Target, int Outcome, string? Source, string Hash)
{
    internal static AuditRecordDocument From(AuditRecord record) => new(record.Seq, record.At, record.UserId, record.KeyId, record.Action,
        record.Target, record.Outcome, record.Source, Convert.ToHexStringLower(record.Hash));
}

public sealed record AuditListDocument(IReadOnlyList<AuditRecordDocument> Items, string? NextCursor);

/// <summary>
/// GET /audit/verify. <see cref="LastHash"/> is the head of the chain: noted elsewhere, it shows later whether
/// records were cut off the end, which the chain alone cannot.
/// </summary>
public sealed record AuditVerificationDocument(bool Valid, long Records, long? FirstBrokenSeq, string? LastHash);
