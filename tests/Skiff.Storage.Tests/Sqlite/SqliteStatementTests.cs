using Microsoft.Data.Sqlite;
using Skiff.Storage.Sqlite;
using Skiff.Testing;

namespace Skiff.Storage.Tests.Sqlite;

public sealed class SqliteStatementTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly SqliteSession _session;

    public SqliteStatementTests()
    {
        _session = new SqliteSession(new SqliteConnectionStringBuilder { DataSource = _temp.Combine("s.db"), Pooling = false }.ToString());
        _session.Execute("CREATE TABLE t(a INTEGER, b TEXT, c INTEGER)");
    }

    public void Dispose()
    {
        _session.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void With_SameStatementBoundInAnotherOrder_EachNameGetsItsValue()
    {
        const string Insert = "INSERT INTO t(a, b, c) VALUES ($a, $b, $c)";
        _session.Statement(Insert).With("$a", 1L).With("$b", "one").With("$c", 10L).Execute();
        // Another call site, other order: the remembered order must not put a value under the wrong name.
        _session.Statement(Insert).With("$c", 20L).With("$a", 2L).With("$b", "two").Execute();
        // Built per call (a different string object each time), only some names: the rest are NULL.
        _session.Statement(string.Concat("INSERT INTO t(a, b, c) ", "VALUES ($a, $b, $c)")).With("$b", "three").Execute();

        var rows = new List<(long?, string?, long?)>();
        var select = _session.Statement("SELECT a, b, c FROM t ORDER BY rowid");
        try
        {
            while (select.Step())
            {
                rows.Add((select.Int64OrNull(0), select.TextOrNull(1), select.Int64OrNull(2)));
            }
        }
        finally
        {
            select.Reset();
        }

        Assert.Equal([(1L, "one", 10L), (2L, "two", 20L), (null, "three", null)], rows);
    }

    [Fact]
    public void With_UnknownName_ArgumentException()
    {
        var statement = _session.Statement("SELECT $a");

        var error = Assert.Throws<ArgumentException>(() => statement.With("$b", 1L));
        Assert.Contains("$b", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Statement_SameSqlAskedAgain_SamePreparedStatement()
    {
        var sql = string.Concat("SELECT ", "$a");

        Assert.Same(_session.Statement("SELECT $a"), _session.Statement("SELECT $a"));
        Assert.Same(_session.Statement("SELECT $a"), _session.Statement(sql));
    }
}
