using Microsoft.Data.Sqlite;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// One open connection with its prepared statements kept for reuse: re-preparing SQL on every call
/// costs more than the queries themselves on the hot path.
/// </summary>
internal sealed class SqliteSession : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SqliteStatement> _statements = new(StringComparer.Ordinal);
    // The same statements by the identity of their SQL string: the hot path's SQL are literals, the same string object
    // every call, and hashing a 400-character UPDATE on every transition cost more than finding it this way.
    private readonly Dictionary<string, SqliteStatement> _literals = new(ReferenceEqualityComparer.Instance);

    public SqliteSession(string connectionString)
    {
        SqliteLibrary.EnsureConfigured();
        Connection = new SqliteConnection(connectionString);
        Connection.Open();
        // The file is mapped up to SQLite's 2 GB maximum (address space, not memory): a read of a page the OS
        // holds is a memory access instead of a pread into the connection's own cache. With 256 MB mapped, a
        // 1M-task store (hundreds of MB) read 50% slower by id than a 10k one; mapped whole, within 12%.
        Execute("PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA mmap_size = 2147418112;");
    }

    public SqliteConnection Connection { get; }

    /// <summary>The cached command for <paramref name="sql"/> with its parameters cleared.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }
        command.Parameters.Clear();
        return command;
    }

    /// <summary>The cached raw statement for <paramref name="sql"/>, with no parameter bound (see <see cref="SqliteStatement"/>).</summary>
    public SqliteStatement Statement(string sql)
    {
        if (!_literals.TryGetValue(sql, out var statement))
        {
            if (!_statements.TryGetValue(sql, out statement))
            {
                statement = new SqliteStatement(Connection.Handle!, sql);
                _statements[sql] = statement;
            }
            else if (ReferenceEquals(statement.Sql, sql))
            {
                // Asked for twice with the same string object: a literal. SQL built per call never gets here, so this stays small.
                _literals[sql] = statement;
            }
        }
        statement.ClearBindings();
        return statement;
    }

    public int Execute(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }
        Connection.Dispose();
    }
}

internal static class SqliteCommandExtensions
{
    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public static long? ToUnixMs(this DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    public static long ToUnixMs(this DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    public static DateTimeOffset? FromUnixMs(long? value) => value is { } ms ? FromUnixMs(ms) : null;

    public static DateTimeOffset? GetTimeOrNull(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public static string? GetStringOrNull(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static int? GetInt32OrNull(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
}
