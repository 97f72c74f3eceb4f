using Microsoft.Data.Sqlite;
using System.Text;
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
    // The raw pointers behind the two handles, for SqliteNative; the handles stay owned (and alive) here.
    private readonly nint _dbPointer;
    private readonly nint _pointer;
    private readonly Dictionary<string, int> _parameters = new(StringComparer.Ordinal);
    // The k-th bind of the last run: a call site binds the same literal names in the same order every time, so the
    // name is usually found by reference here, without hashing it (the writer binds ~20 parameters per transition).
    private readonly (string Name, int Index)[] _binds;
    private int _bindsThisRun;

    public SqliteStatement(sqlite3 db, string sql)
    {
        _db = db;
        Sql = sql;
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(db, sql, out _stmt), db);
        _dbPointer = db.DangerousGetHandle();
        _pointer = _stmt.DangerousGetHandle();
        var count = raw.sqlite3_bind_parameter_count(_stmt);
        for (var i = 1; i <= count; i++)
        {
            _parameters[raw.sqlite3_bind_parameter_name(_stmt, i).utf8_to_string()] = i;
        }
        _binds = new (string, int)[count];
    }

    /// <summary>The SQL it was prepared from (the same string object).</summary>
    public string Sql { get; }

    public SqliteStatement With(string name, long value)
    {
        Check(SqliteNative.BindInt64(_pointer, Index(name), value));
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
        unsafe
        {
            fixed (char* text = value)
            {
                Check(SqliteNative.BindText16(_pointer, Index(name), text, value.Length * sizeof(char), SqliteNative.Transient));
            }
        }
        return this;
    }

    /// <summary>Binds text already encoded as UTF-8 (the database's encoding: SQLite stores it as it is).</summary>
    public SqliteStatement WithUtf8(string name, ReadOnlySpan<byte> utf8)
    {
        unsafe
        {
            fixed (byte* text = utf8)
            {
                Check(SqliteNative.BindText(_pointer, Index(name), text, utf8.Length, SqliteNative.Transient));
            }
        }
        return this;
    }

    private SqliteStatement WithNull(string name)
    {
        Check(SqliteNative.BindNull(_pointer, Index(name)));
        return this;
    }

    /// <summary>The next row: true while there is one. A failing step resets the statement and throws.</summary>
    public bool Step()
    {
        var rc = SqliteNative.Step(_pointer);
        if (rc == Row)
        {
            return true;
        }
        if (rc == Done)
        {
            return false;
        }
        _ = SqliteNative.Reset(_pointer); // repeats the step's error, reported just below
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
            return SqliteNative.Changes(_dbPointer);
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>The rowid of the connection's last successful INSERT.</summary>
    public long LastInsertRowId => SqliteNative.LastInsertRowId(_dbPointer);

    /// <summary>
    /// Ends the current run (a statement left mid-way holds its read or write cursor open). Every run that stepped
    /// ends here: <see cref="Execute"/>, <see cref="TaskRow.ReadOne"/> and <see cref="TaskRow.ReadAll"/> call it
    /// when they finish or fail.
    /// </summary>
    public void Reset() => _ = SqliteNative.Reset(_pointer); // returns the last step's error, already thrown by Step

    /// <summary>Sets every parameter back to NULL, so that nothing bound for an earlier run reaches the next.</summary>
    public void ClearBindings()
    {
        _ = SqliteNative.ClearBindings(_pointer);
        _bindsThisRun = 0;
    }

    public bool IsNull(int column) => SqliteNative.ColumnType(_pointer, column) == raw.SQLITE_NULL;

    public long Int64(int column) => SqliteNative.ColumnInt64(_pointer, column);

    public int Int32(int column) => (int)Int64(column);

    public long? Int64OrNull(int column) => IsNull(column) ? null : Int64(column);

    public int? Int32OrNull(int column) => IsNull(column) ? null : Int32(column);

    public string Text(int column) => Encoding.UTF8.GetString(Utf8Span(column));

    public string? TextOrNull(int column) => IsNull(column) ? null : Text(column);

    /// <summary>A text column's UTF-8 bytes, copied (SQLite's buffer lives only until the next step).</summary>
    public byte[] Utf8(int column) => Utf8Span(column).ToArray();

    /// <summary>A text column's UTF-8 bytes in SQLite's buffer: valid until the next step, reset or column call.</summary>
    public unsafe ReadOnlySpan<byte> Utf8Span(int column)
    {
        // Text first, then its length in bytes: the order SQLite documents for a stable pointer.
        var text = SqliteNative.ColumnText(_pointer, column);
        return text is null ? [] : new ReadOnlySpan<byte>(text, SqliteNative.ColumnBytes(_pointer, column));
    }

    private int Index(string name)
    {
        var k = _bindsThisRun++;
        if (k < _binds.Length && ReferenceEquals(_binds[k].Name, name))
        {
            return _binds[k].Index;
        }
        if (!_parameters.TryGetValue(name, out var index))
        {
            throw new ArgumentException($"the statement has no parameter {name}", nameof(name));
        }
        if (k < _binds.Length)
        {
            _binds[k] = (name, index);
        }
        return index;
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    public void Dispose() => _stmt.Dispose();
}
