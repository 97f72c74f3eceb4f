namespace Skiff.Storage.Sqlite;

/// <summary>
/// Versioned migrations, applied in order at start, each in its own transaction. Never edit a shipped
/// migration: add the next one. Times are unix milliseconds; <c>seq</c> is the creation order, so indexes
/// on (x, seq) serve "by x, newest first" queries.
/// </summary>
internal static class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE users(
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            disabled_at INTEGER);
        CREATE TABLE api_keys(
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            hash BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            revoked_at INTEGER);
        CREATE TABLE tasks(
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            status INTEGER NOT NULL,
            priority INTEGER NOT NULL,
            dead_lettered INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            spec TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            ready_at INTEGER NOT NULL,
            not_before INTEGER,
            started_at INTEGER,
            completed_at INTEGER,
            exit_code INTEGER,
            error TEXT,
            lease_owner TEXT,
            lease_expires_at INTEGER,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            idempotency_key TEXT);
        CREATE INDEX ix_tasks_status ON tasks(status, seq);
        CREATE INDEX ix_tasks_user ON tasks(user_id, seq);
        CREATE INDEX ix_tasks_priority ON tasks(priority, seq);
        CREATE UNIQUE INDEX ix_tasks_idempotency ON tasks(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX ix_tasks_dead_letter ON tasks(seq) WHERE dead_lettered = 1;
        CREATE INDEX ix_tasks_completed ON tasks(completed_at) WHERE completed_at IS NOT NULL;
        CREATE INDEX ix_tasks_lease ON tasks(lease_expires_at) WHERE lease_expires_at IS NOT NULL;
        CREATE TABLE task_events(
            task_seq INTEGER NOT NULL,
            at INTEGER NOT NULL,
            status INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            reason TEXT);
        CREATE INDEX ix_task_events_task ON task_events(task_seq);
        CREATE TABLE task_logs(
            task_seq INTEGER NOT NULL,
            line_no INTEGER NOT NULL,
            at INTEGER NOT NULL,
            stream INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY(task_seq, line_no)) WITHOUT ROWID;
        CREATE TABLE task_results(
            task_seq INTEGER PRIMARY KEY,
            exit_code INTEGER,
            stdout_tail TEXT NOT NULL,
            stderr_tail TEXT NOT NULL,
            wall_ms INTEGER NOT NULL,
            cpu_ms INTEGER NOT NULL,
            peak_memory_bytes INTEGER NOT NULL,
            artifacts TEXT NOT NULL,
            output_dir TEXT);
        """,
        // Users: per-user quota overrides; keys: looked up by their public prefix (hashes are compared in constant time).
        """
        ALTER TABLE users ADD COLUMN max_running INTEGER;
        ALTER TABLE users ADD COLUMN max_queued INTEGER;
        CREATE INDEX ix_api_keys_prefix ON api_keys(prefix);
        CREATE INDEX ix_api_keys_user ON api_keys(user_id);
        """,
        // Secrets: only AES-GCM output and the id of the key that sealed it; owner '*' marks a shared secret.
        """
        CREATE TABLE secrets(
            owner TEXT NOT NULL,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            key_id TEXT NOT NULL,
            nonce BLOB NOT NULL,
            ciphertext BLOB NOT NULL,
            tag BLOB NOT NULL,
            PRIMARY KEY(owner, name)) WITHOUT ROWID;
        CREATE INDEX ix_secrets_key ON secrets(key_id);
        """,
        // Audit log: append-only, each record chained to the previous one by hash (see AuditChain). The triggers
        // stop an accidental UPDATE or DELETE from code; tampering with the file is what the chain shows.
        """
        CREATE TABLE audit_log(
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            user_id TEXT,
            key_id TEXT,
            action TEXT NOT NULL,
            target TEXT,
            outcome INTEGER NOT NULL,
            source TEXT,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL);
        CREATE INDEX ix_audit_user ON audit_log(user_id, seq) WHERE user_id IS NOT NULL;
        CREATE INDEX ix_audit_action ON audit_log(action, seq);
        CREATE INDEX ix_audit_at ON audit_log(at);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
        // Fewer index writes per transition: running tasks (the only ones with a lease) are found through
        // ix_tasks_status, so a separate lease index only cost two b-tree writes per attempt and one per heartbeat.
        """
        DROP INDEX ix_tasks_lease;
        """,
        // The state history moves into the task's row as JSON lines (see TaskHistory): a transition's UPDATE appends its
        // line, instead of a row and an index entry in task_events per transition (a fifth of the queue's writer time).
        """
        ALTER TABLE tasks ADD COLUMN history TEXT NOT NULL DEFAULT '';
        UPDATE tasks SET history = (
                SELECT group_concat(json_array(e.at, e.status, e.attempt, e.reason) || char(10), '' ORDER BY e.rowid)
                FROM task_events e WHERE e.task_seq = tasks.seq)
            WHERE seq IN (SELECT task_seq FROM task_events);
        DROP TABLE task_events;
        """,
    ];
}
