using System.Runtime.InteropServices;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// Direct entry points into the SQLite library that SQLitePCLRaw loads (e_sqlite3), for the calls
/// <see cref="SqliteStatement"/> makes per row and per parameter. SQLitePCLRaw's own wrappers marshal a SafeHandle
/// and go through an interface on each of them; binds and column reads are short, never block and never call
/// back into managed code, so they also skip the GC transition. Stepping (which may do I/O or wait on a lock)
/// keeps the normal transition.
/// </summary>
internal static unsafe class SqliteNative
{
    private const string Library = "e_sqlite3";

    /// <summary>SQLITE_TRANSIENT: SQLite copies the value before the call returns.</summary>
    public static readonly nint Transient = -1;

    [DllImport(Library, EntryPoint = "sqlite3_bind_int64"), SuppressGCTransition]
    public static extern int BindInt64(nint statement, int index, long value);

    [DllImport(Library, EntryPoint = "sqlite3_bind_null"), SuppressGCTransition]
    public static extern int BindNull(nint statement, int index);

    [DllImport(Library, EntryPoint = "sqlite3_bind_text"), SuppressGCTransition]
    public static extern int BindText(nint statement, int index, byte* utf8, int bytes, nint destructor);

    [DllImport(Library, EntryPoint = "sqlite3_bind_text16"), SuppressGCTransition]
    public static extern int BindText16(nint statement, int index, char* text, int bytes, nint destructor);

    [DllImport(Library, EntryPoint = "sqlite3_column_type"), SuppressGCTransition]
    public static extern int ColumnType(nint statement, int column);

    [DllImport(Library, EntryPoint = "sqlite3_column_int64"), SuppressGCTransition]
    public static extern long ColumnInt64(nint statement, int column);

    [DllImport(Library, EntryPoint = "sqlite3_column_text"), SuppressGCTransition]
    public static extern byte* ColumnText(nint statement, int column);

    [DllImport(Library, EntryPoint = "sqlite3_column_bytes"), SuppressGCTransition]
    public static extern int ColumnBytes(nint statement, int column);

    [DllImport(Library, EntryPoint = "sqlite3_step")]
    public static extern int Step(nint statement);

    // Resetting a statement left mid-way may end its implicit transaction: not short enough to be sure.
    [DllImport(Library, EntryPoint = "sqlite3_reset")]
    public static extern int Reset(nint statement);

    [DllImport(Library, EntryPoint = "sqlite3_clear_bindings"), SuppressGCTransition]
    public static extern int ClearBindings(nint statement);

    [DllImport(Library, EntryPoint = "sqlite3_last_insert_rowid"), SuppressGCTransition]
    public static extern long LastInsertRowId(nint db);

    [DllImport(Library, EntryPoint = "sqlite3_changes"), SuppressGCTransition]
    public static extern int Changes(nint db);
}
