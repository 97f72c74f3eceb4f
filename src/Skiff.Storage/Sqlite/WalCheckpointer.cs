using Microsoft.Data.Sqlite;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// Copies the WAL back into the database file from its own connection, so the writer's commits never pay
/// for a checkpoint (SQLite's automatic checkpoint runs inside the committing call and fsyncs there, which
/// halved queue throughput in measurements). PASSIVE never blocks the writer or readers; committed data is
/// durable in the WAL either way, so a crash between checkpoints loses nothing.
/// </summary>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    private const long CheckpointAboveBytes = 16 * 1024 * 1024;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _connectionString;
    private readonly string _walPath;
    private readonly Task _loop;

    public WalCheckpointer(string connectionString, string walPath)
    {
        _connectionString = connectionString;
        _walPath = walPath;
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        using var session = new SqliteSession(_connectionString);
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (new FileInfo(_walPath) is { Exists: true, Length: > CheckpointAboveBytes })
                {
                    try
                    {
                        session.Execute("PRAGMA wal_checkpoint(PASSIVE)");
                    }
                    catch (SqliteException)
                    {
                        // Busy or I/O trouble: the WAL keeps everything; the next tick tries again.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        try
        {
            // Leave a small WAL behind at a clean stop.
            session.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        catch (SqliteException)
        {
            // The next start replays the WAL anyway.
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync();
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
