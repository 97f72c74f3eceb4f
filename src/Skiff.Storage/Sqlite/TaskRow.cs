using System.Text.Json;
using Skiff.Core.Tasks;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// A <c>tasks</c> row as read, with the spec still as its stored UTF-8 JSON. Transitions read the row on the
/// single writer thread, check the move against <see cref="TaskTransitions"/>, write the changed columns by
/// rowid and hand back the row as written (<c>with</c> the same changes); the caller parses it after the
/// commit, so JSON never runs on the writer.
/// </summary>
internal sealed record TaskRow
{
    public const string Columns =
        "seq, id, user_id, status, priority, dead_lettered, attempts, max_attempts, spec, created_at, ready_at, " +
        "not_before, started_at, completed_at, exit_code, error, lease_owner, lease_expires_at, cancel_requested";

    /// <summary>How many columns <see cref="Columns"/> names: a statement may select more after them.</summary>
    public static readonly int ColumnCount = Columns.Split(',').Length;

    private TaskRow(SqliteStatement r)
    {
        Seq = r.Int64(0);
        Id = r.Text(1);
        UserId = r.Text(2);
        Status = (TaskState)r.Int32(3);
        DeadLettered = r.Int32(5) != 0;
        Attempts = r.Int32(6);
        Spec = r.Utf8(8);
        CreatedAt = r.Int64(9);
        ReadyAt = r.Int64(10);
        NotBefore = r.Int64OrNull(11);
        StartedAt = r.Int64OrNull(12);
        CompletedAt = r.Int64OrNull(13);
        ExitCode = r.Int32OrNull(14);
        Error = r.TextOrNull(15);
        LeaseOwner = r.TextOrNull(16);
        LeaseExpiresAt = r.Int64OrNull(17);
        CancelRequested = r.Int32(18) != 0;
    }

    public long Seq { get; init; }
    public string Id { get; init; }
    public string UserId { get; init; }
    public TaskState Status { get; init; }
    public bool DeadLettered { get; init; }
    public int Attempts { get; init; }
    /// <summary>The spec's stored JSON; null when <see cref="ParsedSpec"/> came with the row.</summary>
    public byte[]? Spec { get; init; }

    /// <summary>The spec itself, when this process wrote the row (see <see cref="RecentRows"/>).</summary>
    public TaskSpec? ParsedSpec { get; init; }
    public long CreatedAt { get; init; }
    public long ReadyAt { get; init; }
    public long? NotBefore { get; init; }
    public long? StartedAt { get; init; }
    public long? CompletedAt { get; init; }
    public int? ExitCode { get; init; }
    public string? Error { get; init; }
    public string? LeaseOwner { get; init; }
    public long? LeaseExpiresAt { get; init; }
    public bool CancelRequested { get; init; }

    /// <summary>The row a new task was inserted as.</summary>
    public static TaskRow Inserted(long seq, string taskId, string userId, TaskSpec spec, long createdAt) => new()
    {
        Seq = seq,
        Id = taskId,
        UserId = userId,
        Status = TaskState.Queued,
        ParsedSpec = spec,
        CreatedAt = createdAt,
        ReadyAt = createdAt,
    };

    private TaskRow()
    {
        Id = "";
        UserId = "";
    }

    /// <summary>The first row of a statement selecting <see cref="Columns"/>, or null; the statement is reset.</summary>
    public static TaskRow? ReadOne(SqliteStatement statement) => ReadOne(statement, (row, _) => row);

    /// <summary>
    /// The first row of a statement selecting <see cref="Columns"/> and then more columns, which <paramref name="read"/>
    /// takes from the statement beside the row; null when there is none. The statement is reset.
    /// </summary>
    public static T? ReadOne<T>(SqliteStatement statement, Func<TaskRow, SqliteStatement, T> read)
        where T : class
    {
        try
        {
            if (!statement.Step())
            {
                return null;
            }
            // The reset ends the read: these are SELECTs (an UPDATE ... RETURNING would have to be stepped to its end).
            return read(new TaskRow(statement), statement);
        }
        finally
        {
            statement.Reset();
        }
    }

    /// <summary>Every row of the statement, in order; the statement is reset.</summary>
    public static List<TaskRow> ReadAll(SqliteStatement statement)
    {
        var rows = new List<TaskRow>();
        try
        {
            while (statement.Step())
            {
                rows.Add(new TaskRow(statement));
            }
            return rows;
        }
        finally
        {
            statement.Reset();
        }
    }

    public TaskRecord ToRecord() => new()
    {
        TaskId = Id,
        UserId = UserId,
        Status = Status,
        DeadLettered = DeadLettered,
        Attempts = Attempts,
        Spec = ParsedSpec ?? JsonSerializer.Deserialize(Spec!, StorageJson.Default.TaskSpec)!,
        CreatedAt = SqliteCommandExtensions.FromUnixMs(CreatedAt),
        ReadyAt = SqliteCommandExtensions.FromUnixMs(ReadyAt),
        NotBefore = SqliteCommandExtensions.FromUnixMs(NotBefore),
        StartedAt = SqliteCommandExtensions.FromUnixMs(StartedAt),
        CompletedAt = SqliteCommandExtensions.FromUnixMs(CompletedAt),
        ExitCode = ExitCode,
        Error = Error,
        LeaseOwner = LeaseOwner,
        LeaseExpiresAt = SqliteCommandExtensions.FromUnixMs(LeaseExpiresAt),
        CancelRequested = CancelRequested,
    };
}
