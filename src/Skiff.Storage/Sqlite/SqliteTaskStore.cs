using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Skiff.Core.Tasks;
using Skiff.Storage.Contract;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Writes go through the <see cref="GroupCommitWriter"/>;
/// reads use a small pool of sessions that see the last committed state without blocking the writer.
/// </summary>
public sealed partial class SqliteTaskStore : ITaskStore
{
    private static readonly string WaitingStates = StatesThatMayBecome(TaskState.Running);

    private readonly string _connectionString;
    private readonly GroupCommitWriter _writer;
    private readonly ConcurrentBag<SqliteSession> _readers = [];
    // Enough for the tasks a busy server has between submission and lease; more would keep tens of thousands of
    // specs alive through every collection when a backlog builds (65,536 tripled POST /tasks' p99 under wrk).
    private readonly RecentRows _recent = new(4_096);

    private SqliteTaskStore(string connectionString, SqliteSession writerSession, long walFinishFrames)
    {
        _connectionString = connectionString;
        _writer = new GroupCommitWriter(writerSession);
        _checkpointer = new WalCheckpointer(connectionString, walFinishFrames, _writer.RequestCheckpoint);
        Keys = new SqliteKeyStore(this);
        Secrets = new SqliteSecretStore(this);
        Audit = new SqliteAuditStore(this);
    }

    private readonly WalCheckpointer _checkpointer;

    public IKeyStore Keys { get; }

    public ISecretStore Secrets { get; }

    public IAuditStore Audit { get; }

    public string Path { get; private init; } = "";

    /// <summary>Opens (creating if needed) the store file and applies pending migrations.</summary>
    public static SqliteTaskStore Open(string path) => Open(path, WalCheckpointer.DefaultFinishAboveFrames);

    /// <param name="path">The database file.</param>
    /// <param name="walFinishFrames">WAL size (in 4 KB frames) past which the writer finishes a checkpoint (tests make it small).</param>
    internal static SqliteTaskStore Open(string path, long walFinishFrames)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString();
        var session = new SqliteSession(connectionString);
        try
        {
            // WAL lets readers run beside the single writer. synchronous=NORMAL in WAL mode keeps every
            // committed transaction across a process crash (kill -9); only an OS crash or power loss can
            // lose the last few commits.
            session.Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;");
            // Checkpoints (and their fsync) run beside the writer, not inside its commits: see WalCheckpointer.
            session.Execute("PRAGMA wal_autocheckpoint = 0;");
            // A small page cache for the writer: it reads through the file mapping, and the pages it keeps are the
            // b-trees' hot right edges. A large one costs time at every commit: when a page split reorders sibling
            // pages, SQLite parks a page at a temporary page number past the end of the file, and the commit then
            // walks the cache's whole hash table to drop pages past the end (pcache1TruncateUnsafe: a quarter of
            // the writer's time with the 64 MB the readers use, ~1 % with 4 MB).
            session.Execute("PRAGMA cache_size = -4096;");
            Migrate(session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return new SqliteTaskStore(connectionString, session, walFinishFrames) { Path = full };
    }

    private static void Migrate(SqliteSession session)
    {
        session.Execute("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
        var current = Convert.ToInt32(session.Command("SELECT COALESCE(MAX(version), 0) FROM schema_version").ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (current > SqliteSchema.Migrations.Length)
        {
            throw new InvalidOperationException($"the store was written by a newer Skiff (schema {current}, this build knows {SqliteSchema.Migrations.Length})");
        }
        for (var version = current + 1; version <= SqliteSchema.Migrations.Length; version++)
        {
            session.Execute("BEGIN IMMEDIATE");
            try
            {
                session.Execute(SqliteSchema.Migrations[version - 1]);
                session.Command("INSERT INTO schema_version(version) VALUES ($v)").With("$v", version).ExecuteNonQuery();
                session.Execute("COMMIT");
            }
            catch
            {
                session.Execute("ROLLBACK");
                throw;
            }
        }
    }

    // ---------------------------------------------------------------- writes
    // Transitions run on the writer thread as few raw statements (see SqliteStatement) and hand back TaskRows;
    // parsing them into records happens after the commit, on the caller's side.

    public async Task<CreateOutcome> CreateTaskAsync(NewTask task, CancellationToken cancellationToken)
    {
        // Encoded here, on the caller's thread, as the file stores it: the writer only copies the bytes.
        var spec = JsonSerializer.SerializeToUtf8Bytes(task.Spec, StorageJson.Default.TaskSpec);
        var at = task.CreatedAt.ToUnixMs();
        var (row, created) = await _writer.ExecuteAsync(s =>
        {
            if (task.IdempotencyKey is not null
                && TaskRow.ReadOne(s.Statement($"SELECT {TaskRow.Columns} FROM tasks WHERE user_id = $u AND idempotency_key = $k")
                    .With("$u", task.UserId).With("$k", task.IdempotencyKey)) is { } found)
            {
                return (found, false);
            }
            var insert = s.Statement(
                    "INSERT INTO tasks(id, user_id, status, priority, max_attempts, spec, created_at, ready_at, idempotency_key) " +
                    "VALUES ($id, $u, $st, $p, $m, $spec, $at, $at, $k)")
                .With("$id", task.TaskId).With("$u", task.UserId).With("$st", (int)TaskState.Queued)
                .With("$p", task.Spec.Priority).With("$m", task.Spec.MaxAttempts).WithUtf8("$spec", spec)
                .With("$at", at).With("$k", task.IdempotencyKey);
            insert.Execute();
            // No event row for the submission: it is the row itself (created_at), shown first by GetTaskAsync.
            return (TaskRow.Inserted(insert.LastInsertRowId, task.TaskId, task.UserId, task.Spec, at), true);
        }, cancellationToken).ConfigureAwait(false);
        if (!created)
        {
            return new CreateOutcome(row.ToRecord(), false);
        }
        _recent.Remember(row);
        var record = new TaskRecord
        {
            TaskId = task.TaskId,
            UserId = task.UserId,
            Spec = task.Spec,
            Status = TaskState.Queued,
            // Precise in memory (the queue measures latency from it); milliseconds on disk.
            CreatedAt = task.CreatedAt,
            ReadyAt = task.CreatedAt,
        };
        return new CreateOutcome(record, true);
    }

    public async Task<LeaseOutcome> LeaseAsync(string taskId, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        var at = now.ToUnixMs();
        var seen = Seen(taskId);
        var (result, row) = await _writer.ExecuteAsync<(TransitionResult, TaskRow?)>(s =>
        {
            return Transition(s, taskId, seen, current => !TaskTransitions.IsLegal(current.Status, TaskState.Running, current.DeadLettered)
                ? null
                : new Move(current with
                {
                    Status = TaskState.Running,
                    Attempts = current.Attempts + 1,
                    StartedAt = current.StartedAt ?? at,
                    LeaseOwner = owner,
                    LeaseExpiresAt = leaseUntil.ToUnixMs(),
                    NotBefore = null,
                    ExitCode = null,
                    Error = null,
                }, at, current.Attempts + 1, "leased by " + owner));
        }, cancellationToken).ConfigureAwait(false);
        return new LeaseOutcome(result, Recorded(taskId, result, row)?.ToRecord());
    }

    public Task ExtendLeasesAsync(IReadOnlyCollection<string> taskIds, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (taskIds.Count == 0)
        {
            return Task.CompletedTask;
        }
        return _writer.ExecuteAsync(s =>
        {
            foreach (var id in taskIds)
            {
                s.Statement("UPDATE tasks SET lease_expires_at = $until WHERE id = $id AND status = $st AND lease_owner = $o")
                    .With("$until", leaseUntil.ToUnixMs()).With("$id", id).With("$st", (int)TaskState.Running).With("$o", owner)
                    .Execute();
            }
            return true;
        }, cancellationToken);
    }

    public async Task<TransitionOutcome> CompleteAttemptAsync(AttemptCompletion completion, CancellationToken cancellationToken)
    {
        if (!TaskTransitions.IsLegal(TaskState.Running, completion.Decision.Next))
        {
            throw new InvalidOperationException($"an attempt cannot end in {completion.Decision.Next}");
        }
        var artifacts = completion.Result is null ? null : JsonSerializer.Serialize(completion.Result.Artifacts.ToList(), StorageJson.Default.ListTaskArtifact);
        var at = completion.At.ToUnixMs();
        var seen = Seen(completion.TaskId);
        var (result, row) = await _writer.ExecuteAsync<(TransitionResult, TaskRow?)>(s =>
        {
            var (result, ended) = Transition(s, completion.TaskId, seen, current =>
            {
                if (current.Status != TaskState.Running || current.Attempts != completion.Attempt
                    || (completion.LeaseOwner is not null && current.LeaseOwner != completion.LeaseOwner))
                {
                    // Not this attempt's to end any more (its lease expired and another attempt took over, or it already ended).
                    return null;
                }
                var decision = Overruled(completion.Decision, current);
                return new Move(current with
                {
                    Status = decision.Next,
                    DeadLettered = decision.DeadLetter,
                    CompletedAt = decision.Next.IsTerminal() ? at : null,
                    ExitCode = completion.ExitCode,
                    Error = completion.Error,
                    NotBefore = decision.NotBefore.ToUnixMs(),
                    ReadyAt = decision.Next.IsWaiting() ? decision.NotBefore.ToUnixMs() ?? at : current.ReadyAt,
                    Attempts = current.Attempts - (decision.RefundAttempt ? 1 : 0),
                    LeaseOwner = null,
                    LeaseExpiresAt = null,
                }, at, completion.Attempt, decision.Reason);
            });
            if (result == TransitionResult.Applied && completion.Result is { } r)
            {
                s.Statement(
                        "INSERT OR REPLACE INTO task_results(task_seq, exit_code, stdout_tail, stderr_tail, wall_ms, cpu_ms, peak_memory_bytes, artifacts, output_dir) " +
                        "VALUES ($seq, $exit, $out, $err, $wall, $cpu, $mem, $art, $dir)")
                    .With("$seq", ended!.Seq).With("$exit", r.ExitCode).With("$out", r.StdoutTail).With("$err", r.StderrTail)
                    .With("$wall", r.Usage.WallMs).With("$cpu", r.Usage.CpuMs).With("$mem", r.Usage.PeakMemoryBytes)
                    .With("$art", artifacts).With("$dir", r.OutputDirectory).Execute();
            }
            return (result, ended);
        }, cancellationToken).ConfigureAwait(false);
        return new TransitionOutcome(result, Recorded(completion.TaskId, result, row)?.ToRecord());
    }

    private const string CancelledByRequest = "cancelled by request";

    /// <summary>The row a transition starts from: as this process last wrote it, else read (off the writer thread).</summary>
    private TaskRow? Seen(string taskId) => _recent.Recall(taskId) ?? Read(s => SelectById(s, taskId));

    /// <summary>Keeps the row a transition left (or forgets a stale one) for the task's next transition.</summary>
    private TaskRow? Recorded(string taskId, TransitionResult result, TaskRow? row)
    {
        if (result == TransitionResult.Applied && row is not null)
        {
            _recent.Remember(row);
        }
        else
        {
            _recent.Forget(taskId);
        }
        return row;
    }

    /// <summary>A cancel that reached the store while the attempt ended wins over a retry or a failure (never over a success).</summary>
    private static AttemptDecision Overruled(AttemptDecision decision, TaskRow current) =>
        current.CancelRequested && decision.Next is not (TaskState.Succeeded or TaskState.Cancelled)
            ? new AttemptDecision(TaskState.Cancelled, false, null, CancelledByRequest)
            : decision;

    /// <summary>
    /// Moves a task's row on the writer as <paramref name="next"/> says (null: the move is not legal from that row). The
    /// caller read the row before queuing the write (<paramref name="seen"/>, on a reader, off the writer thread); the
    /// write checks by rowid that the columns a transition depends on still hold what was read. Only when something
    /// changed the task meanwhile (or the move was refused) is the row read again here and the move decided anew.
    /// </summary>
    private static (TransitionResult, TaskRow?) Transition(SqliteSession s, string taskId, TaskRow? seen, Func<TaskRow, Move?> next)
    {
        if (seen is not null && next(seen) is { } moved && TryWrite(s, seen, moved))
        {
            return (TransitionResult.Applied, moved.Row);
        }
        var current = SelectById(s, taskId);
        if (current is null)
        {
            return (TransitionResult.NotFound, null);
        }
        if (next(current) is not { } target)
        {
            return (TransitionResult.Conflict, current);
        }
        Write(s, current, target);
        return (TransitionResult.Applied, target.Row);
    }

    /// <summary>A transition: the row it leaves, and the line it adds to the task's history (see <see cref="TaskHistory"/>).</summary>
    private readonly record struct Move(TaskRow Row, long At, int Attempt, string? Reason);

    /// <summary>Writes <paramref name="next"/> over <paramref name="current"/>, read in this same transaction.</summary>
    private static void Write(SqliteSession s, TaskRow current, Move next)
    {
        if (!TryWrite(s, current, next))
        {
            throw new InvalidOperationException($"task {current.Id} changed inside the writer's own transaction");
        }
    }

    /// <summary>
    /// Writes <paramref name="move"/>'s row over <paramref name="current"/> by rowid if the stored row still is <paramref name="current"/>
    /// (every transition changes the status, attempts, dead-letter flag or ready time, and a cancel request sets its flag), and
    /// appends the move to the task's history. The one place a task's state is written, checked against <see cref="TaskTransitions"/>.
    /// </summary>
    private static bool TryWrite(SqliteSession s, TaskRow current, Move move)
    {
        var next = move.Row;
        if (!TaskTransitions.IsLegal(current.Status, next.Status, current.DeadLettered))
        {
            throw new InvalidOperationException($"illegal transition {current.Status} → {next.Status}");
        }
        return s.Statement(
                "UPDATE tasks SET status = $st, dead_lettered = $dl, attempts = $a, ready_at = $ready, not_before = $nb, started_at = $started, " +
                "completed_at = $completed, exit_code = $exit, error = $error, lease_owner = $owner, lease_expires_at = $until, cancel_requested = $cr, " +
                "history = history || $line " +
                "WHERE seq = $seq AND status = $was_st AND attempts = $was_a AND dead_lettered = $was_dl AND cancel_requested = $was_cr AND ready_at = $was_ready")
            .With("$st", (int)next.Status).With("$dl", next.DeadLettered).With("$a", next.Attempts).With("$ready", next.ReadyAt)
            .With("$nb", next.NotBefore).With("$started", next.StartedAt).With("$completed", next.CompletedAt)
            .With("$exit", next.ExitCode).With("$error", next.Error).With("$owner", next.LeaseOwner).With("$until", next.LeaseExpiresAt)
            .With("$cr", next.CancelRequested).With("$seq", current.Seq).With("$was_st", (int)current.Status).With("$was_a", current.Attempts)
            .With("$was_dl", current.DeadLettered).With("$was_cr", current.CancelRequested).With("$was_ready", current.ReadyAt)
            .WithUtf8("$line", TaskHistory.Line(move.At, next.Status, move.Attempt, move.Reason)).Execute() == 1;
    }

    private static TaskRow? SelectById(SqliteSession s, string taskId) =>
        TaskRow.ReadOne(s.Statement($"SELECT {TaskRow.Columns} FROM tasks WHERE id = $id").With("$id", taskId));

    public async Task<CancelOutcome> CancelAsync(string taskId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The remembered row would fail the writer's check anyway (status or cancel flag); drop it now.
        _recent.Forget(taskId);
        var (result, row) = await _writer.ExecuteAsync<(CancelResult, TaskRow?)>(s =>
        {
            var current = SelectById(s, taskId);
            if (current is null)
            {
                return (CancelResult.NotFound, null);
            }
            if (current.Status.IsTerminal())
            {
                return (CancelResult.AlreadyTerminal, current);
            }
            if (current.Status == TaskState.Running)
            {
                // The worker owns the running attempt; it ends it (and the flag outlives a crash of that worker).
                s.Statement("UPDATE tasks SET cancel_requested = 1 WHERE seq = $seq").With("$seq", current.Seq).Execute();
                return (CancelResult.CancelRequested, current with { CancelRequested = true });
            }
            var at = now.ToUnixMs();
            var cancelled = current with { Status = TaskState.Cancelled, CompletedAt = at, NotBefore = null };
            Write(s, current, new Move(cancelled, at, current.Attempts, CancelledByRequest));
            return (CancelResult.Cancelled, cancelled);
        }, cancellationToken).ConfigureAwait(false);
        return new CancelOutcome(result, row?.ToRecord());
    }

    public async Task<TransitionOutcome> RedriveAsync(string taskId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Only terminal tasks are redriven, and they are not remembered; the redriven row is read afresh at its lease.
        var (result, row) = await _writer.ExecuteAsync<(TransitionResult, TaskRow?)>(s =>
        {
            var current = SelectById(s, taskId);
            if (current is null)
            {
                return (TransitionResult.NotFound, null);
            }
            if (!current.DeadLettered || !TaskTransitions.IsLegal(current.Status, TaskState.Queued, current.DeadLettered))
            {
                return (TransitionResult.Conflict, current);
            }
            var at = now.ToUnixMs();
            var redriven = current with
            {
                Status = TaskState.Queued,
                DeadLettered = false,
                Attempts = 0,
                CompletedAt = null,
                ExitCode = null,
                Error = null,
                ReadyAt = at,
                NotBefore = null,
                CancelRequested = false,
            };
            Write(s, current, new Move(redriven, at, 0, "redriven from the dead-letter queue"));
            return (TransitionResult.Applied, redriven);
        }, cancellationToken).ConfigureAwait(false);
        return new TransitionOutcome(result, row?.ToRecord());
    }

    public Task AppendLogsAsync(string taskId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return Task.CompletedTask;
        }
        return _writer.ExecuteAsync(s =>
        {
            var seqValue = s.Command("SELECT seq FROM tasks WHERE id = $id").With("$id", taskId).ExecuteScalar();
            if (seqValue is not long seq)
            {
                return 0;
            }
            var insert = s.Command("INSERT OR IGNORE INTO task_logs(task_seq, line_no, at, stream, attempt, text) VALUES ($seq, $n, $at, $s, $a, $t)");
            var pSeq = insert.Parameters.Add("$seq", SqliteType.Integer);
            var pN = insert.Parameters.Add("$n", SqliteType.Integer);
            var pAt = insert.Parameters.Add("$at", SqliteType.Integer);
            var pS = insert.Parameters.Add("$s", SqliteType.Integer);
            var pA = insert.Parameters.Add("$a", SqliteType.Integer);
            var pT = insert.Parameters.Add("$t", SqliteType.Text);
            pSeq.Value = seq;
            foreach (var line in lines)
            {
                pN.Value = line.LineNo;
                pAt.Value = line.At.ToUnixMs();
                pS.Value = (int)line.Stream;
                pA.Value = line.Attempt;
                pT.Value = line.Text;
                insert.ExecuteNonQuery();
            }
            return lines.Count;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<string>> DeleteCompletedAsync(IReadOnlyCollection<string> taskIds, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        if (taskIds.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }
        return _writer.ExecuteAsync<IReadOnlyList<string>>(s =>
        {
            var deleted = new List<string>(taskIds.Count);
            foreach (var id in taskIds)
            {
                // Checked again here, in the write: the task may have been redriven since it was listed.
                if (s.Command("SELECT seq FROM tasks WHERE id = $id AND completed_at < $cutoff")
                        .With("$id", id).With("$cutoff", cutoff.ToUnixMs()).ExecuteScalar() is not long seq)
                {
                    continue;
                }
                s.Command("DELETE FROM task_logs WHERE task_seq = $seq").With("$seq", seq).ExecuteNonQuery();
                s.Command("DELETE FROM task_results WHERE task_seq = $seq").With("$seq", seq).ExecuteNonQuery();
                s.Command("DELETE FROM tasks WHERE seq = $seq").With("$seq", seq).ExecuteNonQuery();
                deleted.Add(id);
            }
            return deleted;
        }, cancellationToken);
    }

    // ---------------------------------------------------------------- reads

    public Task<TaskRecord?> GetTaskAsync(string taskId, bool withEvents, CancellationToken cancellationToken) =>
        Task.FromResult(Read(s =>
        {
            if (!withEvents)
            {
                return SelectById(s, taskId)?.ToRecord();
            }
            // The history comes with the row, in the same lookup.
            return TaskRow.ReadOne(s.Statement($"SELECT {TaskRow.Columns}, history FROM tasks WHERE id = $id").With("$id", taskId), (row, statement) =>
            {
                var task = row.ToRecord();
                List<TaskEvent> events = [new(task.CreatedAt, TaskState.Queued, 0, "submitted")];
                events.AddRange(TaskHistory.Parse(statement.Utf8Span(TaskRow.ColumnCount)));
                return task with { Events = events };
            });
        }));

    public Task<TaskPage> ListTasksAsync(TaskQuery query, CancellationToken cancellationToken) =>
        Task.FromResult(Read(s =>
        {
            var command = s.Statement(BuildListSql(query));
            if (query.Status is { } status)
            {
                command.With("$status", (int)status);
            }
            if (query.UserId is not null)
            {
                command.With("$user", query.UserId);
            }
            if (query.Priority is { } priority)
            {
                command.With("$priority", priority);
            }
            if (query.Cursor is { } cursor)
            {
                command.With("$cursor", cursor);
            }
            command.With("$limit", query.Limit + 1);
            return ReadPage(command, query.Limit);
        }));

    private static string BuildListSql(TaskQuery query)
    {
        var where = new List<string>();
        if (query.Status is not null)
        {
            where.Add("status = $status");
        }
        if (query.UserId is not null)
        {
            where.Add("user_id = $user");
        }
        if (query.Priority is not null)
        {
            where.Add("priority = $priority");
        }
        if (query.Cursor is not null)
        {
            where.Add("seq < $cursor");
        }
        var filter = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        return $"SELECT {TaskRow.Columns} FROM tasks {filter} ORDER BY seq DESC LIMIT $limit";
    }

    public Task<TaskPage> ListDeadLetteredAsync(string? userId, long? cursor, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(Read(s =>
        {
            var command = s.Statement(
                    $"SELECT {TaskRow.Columns} FROM tasks WHERE dead_lettered = 1 AND seq > $cursor AND ($user IS NULL OR user_id = $user) " +
                    "ORDER BY seq LIMIT $limit")
                .With("$cursor", cursor ?? 0L).With("$user", userId).With("$limit", limit + 1);
            return ReadPage(command, limit);
        }));

    public Task<IReadOnlyList<string>> ListCompletedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(Read<IReadOnlyList<string>>(s =>
        {
            var ids = new List<string>();
            using var reader = s.Command("SELECT id FROM tasks WHERE completed_at < $cutoff ORDER BY completed_at LIMIT $n")
                .With("$cutoff", cutoff.ToUnixMs()).With("$n", limit).ExecuteReader();
            while (reader.Read())
            {
                ids.Add(reader.GetString(0));
            }
            return ids;
        }));

    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string taskId, long afterLineNo, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(Read<IReadOnlyList<LogLine>>(s =>
        {
            var lines = new List<LogLine>();
            using var reader = s.Command(
                    "SELECT l.line_no, l.at, l.stream, l.attempt, l.text FROM task_logs l " +
                    "WHERE l.task_seq = (SELECT seq FROM tasks WHERE id = $id) AND l.line_no > $after ORDER BY l.line_no LIMIT $limit")
                .With("$id", taskId).With("$after", afterLineNo).With("$limit", limit).ExecuteReader();
            while (reader.Read())
            {
                lines.Add(new LogLine(reader.GetInt64(0), SqliteCommandExtensions.FromUnixMs(reader.GetInt64(1)), (LogStream)reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4)));
            }
            return lines;
        }));

    public Task<long> LastLogLineNoAsync(string taskId, CancellationToken cancellationToken) =>
        Task.FromResult(Read(s => (long)s.Command(
                "SELECT COALESCE(MAX(line_no), 0) FROM task_logs WHERE task_seq = (SELECT seq FROM tasks WHERE id = $id)")
            .With("$id", taskId).ExecuteScalar()!));

    public Task<TaskResult?> GetResultAsync(string taskId, CancellationToken cancellationToken) =>
        Task.FromResult(Read(s =>
        {
            using var reader = s.Command(
                    "SELECT exit_code, stdout_tail, stderr_tail, wall_ms, cpu_ms, peak_memory_bytes, artifacts, output_dir FROM task_results " +
                    "WHERE task_seq = (SELECT seq FROM tasks WHERE id = $id)")
                .With("$id", taskId).ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }
            var artifacts = JsonSerializer.Deserialize(reader.GetString(6), StorageJson.Default.ListTaskArtifact) ?? [];
            return new TaskResult(reader.GetInt32OrNull(0), reader.GetString(1), reader.GetString(2),
                new TaskUsage(reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)), artifacts, reader.GetStringOrNull(7));
        }));

    public Task<IReadOnlyList<TaskRecord>> LoadWaitingAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Read(s => ReadMany(s.Statement($"SELECT {TaskRow.Columns} FROM tasks WHERE status IN ({WaitingStates}) ORDER BY ready_at, seq"))));

    public Task<IReadOnlyList<TaskRecord>> LoadExpiredLeasesAsync(DateTimeOffset now, string? owner, CancellationToken cancellationToken) =>
        Task.FromResult(Read(s => ReadMany(s.Statement(
                $"SELECT {TaskRow.Columns} FROM tasks WHERE status = $running AND (lease_expires_at < $now OR lease_owner = $owner)")
            .With("$running", (int)TaskState.Running).With("$now", now.ToUnixMs()).With("$owner", owner))));

    public Task<StoreCounts> CountAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Read(s => new StoreCounts(
            (long)s.Command("SELECT COUNT(*) FROM tasks WHERE dead_lettered = 1").ExecuteScalar()!,
            (long)s.Command("SELECT COALESCE(MAX(seq), 0) FROM tasks").ExecuteScalar()!)));

    public Task PingAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Read(s => s.Command("SELECT 1").ExecuteScalar()));

    // ---------------------------------------------------------------- helpers

    internal T Read<T>(Func<SqliteSession, T> work)
    {
        if (!_readers.TryTake(out var session))
        {
            session = new SqliteSession(_connectionString);
        }
        try
        {
            var result = work(session);
            _readers.Add(session);
            return result;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    internal Task<T> WriteAsync<T>(Func<SqliteSession, T> work, CancellationToken cancellationToken) =>
        _writer.ExecuteAsync(work, cancellationToken);

    private static TaskPage ReadPage(SqliteStatement statement, int limit)
    {
        var rows = TaskRow.ReadAll(statement);
        var items = rows.Take(limit).Select(r => r.ToRecord()).ToList();
        return new TaskPage(items, rows.Count > limit ? rows[limit - 1].Seq : null);
    }

    private static IReadOnlyList<TaskRecord> ReadMany(SqliteStatement statement) => TaskRow.ReadAll(statement).ConvertAll(r => r.ToRecord());

    /// <summary>The SQL list of states from which <paramref name="to"/> is legal, derived from <see cref="TaskTransitions"/>.</summary>
    private static string StatesThatMayBecome(TaskState to) =>
        string.Join(", ", Enum.GetValues<TaskState>().Where(from => TaskTransitions.IsLegal(from, to)).Select(s => (int)s));

    public async ValueTask DisposeAsync()
    {
        await _checkpointer.DisposeAsync();
        await _writer.DisposeAsync();
        while (_readers.TryTake(out var session))
        {
            session.Dispose();
        }
    }
}
