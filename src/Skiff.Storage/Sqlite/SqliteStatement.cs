using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// One prepared statement driven through SQLite's own API: parameters are bound by an index resolved once at
/// prepare time and columns read by position. The queue's hot path runs a handful of these per task on the
/// single writer thread, where Microsoft.Data.Sqlite's per-call parameter objects, name lookups and readers
/// cost more than SQLite's own work. Runs on the session's connection, so it joins the open transaction.
/// </summary>
internal sealed class SqliteStatement : IDisposable
{
    private const int Row = 100;
    private const int Done = 101;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private readonly Dictionary<string, int> _parameters = new(StringComparer.Ordinal);

    public SqliteStatement(sqlite3 db, string sql)
    {
        _db = db;
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(db, sql, out _stmt), db);
        var count = raw.sqlite3_bind_parameter_count(_stmt);
        for (var i = 1; i <= count; i++)
        {
            _parameters[raw.sqlite3_bind_parameter_name(_stmt, i).utf8_to_string()] = i;
        }
    }

    public SqliteStatement With(string name, long value)
    {
        Check(raw.sqlite3_bind_int64(_stmt, Index(name), value));
        return this;
    }

    public SqliteStatement With(string name, long? value) => value is { } v ? With(name, v) : WithNull(name);

    public SqliteStatement With(string name, bool value) => With(name, value ? 1L : 0L);

    public SqliteStatement With(string name, string? value)
    {
        if (value is null)
        {
            return WithNull(name);
        }
        Check(raw.sqlite3_bind_text(_stmt, Index(name), value));
        return this;
    }

    private SqliteStatement WithNull(string name)
    {
        Check(raw.sqlite3_bind_null(_stmt, Index(name)));
        return this;
    }

    /// <summary>The next row: true while there is one. A failing step resets the statement and throws.</summary>
    public bool Step()
    {
        var rc = raw.sqlite3_step(_stmt);
        if (rc == Row)
        {
            return true;
        }
        if (rc == Done)
        {
            return false;
        }
        raw.sqlite3_reset(_stmt);
        SqliteException.ThrowExceptionForRC(rc, _db);
        return false;
    }

    /// <summary>Runs to the end and returns the rows changed; the statement is ready for reuse after.</summary>
    public int Execute()
    {
        try
        {
            while (Step())
            {
            }
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>Ends the current run (a statement left mid-way holds its read or write cursor open).</summary>
    public void Reset()
    {
        raw.sqlite3_reset(_stmt);
        raw.sqlite3_clear_bindings(_stmt);
    }

    public bool IsNull(int column) => raw.sqlite3_column_type(_stmt, column) == raw.SQLITE_NULL;

    public long Int64(int column) => raw.sqlite3_column_int64(_stmt, column);

    public int Int32(int column) => raw.sqlite3_column_int(_stmt, column);

    public long? Int64OrNull(int column) => IsNull(column) ? null : Int64(column);

    public int? Int32OrNull(int column) => IsNull(column) ? null : Int32(column);

    public string Text(int column) => raw.sqlite3_column_text(_stmt, column).utf8_to_string();

    public string? TextOrNull(int column) => IsNull(column) ? null : Text(column);

    /// <summary>A text column's UTF-8 bytes, copied (SQLite's buffer lives only until the next step).</summary>
    public byte[] Utf8(int column) => raw.sqlite3_column_blob(_stmt, column).ToArray();

    private int Index(string name) =>
        _parameters.TryGetValue(name, out var index) ? index : throw new ArgumentException($"the statement has no parameter {name}", nameof(name));

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    public void Dispose() => _stmt.Dispose();
}
