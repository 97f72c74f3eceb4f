namespace Skiff.Storage.Contract;

/// <summary>One call to record: who made it, what it did to which target, and how it ended.</summary>
/// <param name="At">When the call arrived; stored to the millisecond.</param>
/// <param name="UserId">The authenticated user, or null when the caller was not authenticated (a 401).</param>
/// <param name="KeyId">The id of the API key used (never the key), or null like <paramref name="UserId"/>.</param>
/// <param name="Action">A stable name such as <c>tasks.submit</c>.</param>
/// <param name="Target">What the call addressed (route values such as a task id), or null.</param>
/// <param name="Outcome">The HTTP status code of the answer.</param>
/// <param name="Source">The caller's network address, or null when unknown.</param>
public sealed record AuditEntry(DateTimeOffset At, string? UserId, string? KeyId, string Action, string? Target, int Outcome, string? Source);

/// <summary>A stored entry with its place in the chain: <see cref="Hash"/> covers <see cref="PrevHash"/> and every field.</summary>
public sealed record AuditRecord(
    long Seq, DateTimeOffset At, string? UserId, string? KeyId, string Action, string? Target, int Outcome, string? Source,
    byte[] PrevHash, byte[] Hash);

/// <summary>Filters of <see cref="IAuditStore.ListAsync"/>; <see cref="Since"/> is inclusive, <see cref="Until"/> exclusive.</summary>
public sealed record AuditQuery(string? UserId, string? Action, DateTimeOffset? Since, DateTimeOffset? Until, long? Cursor, int Limit);

/// <summary>A page of records, newest first; <see cref="NextCursor"/> is a keyset position (a seq).</summary>
public sealed record AuditPage(IReadOnlyList<AuditRecord> Items, long? NextCursor);

/// <summary>
/// The result of walking the whole chain. <see cref="FirstBrokenSeq"/> is the first record whose link to its
/// predecessor, its seq or its own hash does not check out; <see cref="LastHash"/> is the head of the chain, which
/// an operator can note elsewhere: the chain alone cannot show that records were cut off its end.
/// </summary>
public sealed record AuditVerification(bool Valid, long Records, long? FirstBrokenSeq, byte[]? LastHash);

/// <summary>
/// The append-only audit log. Every record carries the hash of the one before it (see <see cref="AuditChain"/>), so
/// changing or deleting a stored record breaks the chain at that point and <see cref="VerifyAsync"/> reports it.
/// </summary>
public interface IAuditStore
{
    /// <summary>
    /// Appends <paramref name="entries"/> in order as the next links of the chain, in one write transaction that
    /// also reads the current head; the task completes once that transaction committed.
    /// </summary>
    Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken);

    /// <summary>Records matching every filter given, newest first.</summary>
    Task<AuditPage> ListAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>Walks every record in seq order (streaming, constant memory) and checks each link.</summary>
    Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken);
}
