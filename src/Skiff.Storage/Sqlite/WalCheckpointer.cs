using Microsoft.Data.Sqlite;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// Copies the WAL back into the database file from its own connection, so the writer's commits never pay
/// for a checkpoint (SQLite's automatic checkpoint runs inside the committing call and fsyncs there, which
/// halved queue throughput in measurements). PASSIVE never blocks the writer or readers; committed data is
/// durable in the WAL either way, so a crash between checkpoints loses nothing. Once the WAL holds more than
/// 16 MB the writer is asked to finish the job between two transactions (<see cref="GroupCommitWriter.RequestCheckpoint"/>),
/// so that it starts over instead of growing for as long as the load lasts.
/// </summary>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    // 4,096 frames of 4 KB pages: past this the writer is asked to finish the checkpoint so the WAL starts over.
    private const long FinishAboveFrames = 4096;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _connectionString;
    private readonly Action _finish;
    private readonly Task _loop;

    /// <param name="finish">Asks the writer to copy what this pass left and so let the WAL start over.</param>
    public WalCheckpointer(string connectionString, Action finish)
    {
        _connectionString = connectionString;
        _finish = finish;
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
                try
                {
                    // A pass with nothing new to copy costs next to nothing; one with frames copies them and fsyncs.
                    if (Checkpoint(session) >= FinishAboveFrames)
                    {
                        _finish();
                    }
                }
                catch (SqliteException)
                {
                    // Busy or I/O trouble: the WAL keeps everything; the next tick tries again.
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

    /// <summary>A PASSIVE checkpoint; returns the WAL's size in frames (SQLite's second result column).</summary>
    private static long Checkpoint(SqliteSession session)
    {
        using var reader = session.Command("PRAGMA wal_checkpoint(PASSIVE)").ExecuteReader();
        return reader.Read() ? reader.GetInt64(1) : 0;
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
