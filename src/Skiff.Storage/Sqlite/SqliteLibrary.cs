using SQLitePCL;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// Process-wide SQLite settings, applied once before this process opens its first connection (SQLite only takes
/// them before it initializes). e_sqlite3 is built serialized: every call on a connection takes that connection's
/// mutex, and every allocation a global one for its statistics, ~5 % of the store writer's time. Skiff never uses
/// a connection from two threads at once (the writer owns its session; a reader session is taken by one caller at
/// a time; the checkpointer has its own), which is SQLite's multi-thread mode.
/// </summary>
internal static class SqliteLibrary
{
    private static readonly Lazy<bool> s_configured = new(Configure);

    /// <summary>True once the settings are in force; false when SQLite had already started in this process (its defaults stay, which is only slower).</summary>
    public static bool EnsureConfigured() => s_configured.Value;

    private static bool Configure()
    {
        Batteries_V2.Init();
        return raw.sqlite3_config(raw.SQLITE_CONFIG_MULTITHREAD) == raw.SQLITE_OK
            && raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0) == raw.SQLITE_OK;
    }
}
