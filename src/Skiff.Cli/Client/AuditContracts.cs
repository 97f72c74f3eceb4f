namespace Skiff.Cli.Client;

/// <summary>One record of <c>GET /audit</c>: a mutating call, who made it and how it ended.</summary>
internal sealed record AuditRecordDocument
{
    public long Seq { get; init; }
    public DateTimeOffset At { get; init; }
    public string? UserId { get; init; }
    public string? KeyId { get; init; }
    public string Action { get; init; } = "";
    public string? Target { get; init; }
    public int Outcome { get; init; }
    public string? Source { get; init; }
    public string? Hash { get; init; }
}

/// <summary>One page of <c>GET /audit</c>, newest first.</summary>
internal sealed record AuditPage
{
    public IReadOnlyList<AuditRecordDocument> Items { get; init; } = [];
    public string? NextCursor { get; init; }
}

/// <summary><c>GET /audit/verify</c>: whether every record's hash link holds, and the first that does not.</summary>
internal sealed record AuditVerificationDocument
{
    public bool Valid { get; init; }
    public long Records { get; init; }
    public long? FirstBrokenSeq { get; init; }
    public string? LastHash { get; init; }
}
