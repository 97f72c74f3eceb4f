using Microsoft.Data.Sqlite;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// Copies the WAL back into the database file from its own connection, so the writer's commits never pay
/// for a checkpoint (SQLite's automatic checkpoint runs inside the committing call and fsyncs there, which
/// halved queue throughput in measurements). PASSIVE never blocks the writer or readers; committed data is
/// durable in the WAL either way, so a crash between checkpoints loses nothing. Once the WAL holds more than
/// 64 MB the writer is asked to finish the job between two transactions (<see cref="GroupCommitWriter.RequestCheckpoint"/>),
/// so that it starts over instead of growing for as long as the load lasts.
/// </summary>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    /// <summary>
    /// 16,384 frames of 4 KB pages (64 MB): past this the WAL is brought to start over (see <see cref="CatchUpAndFinish"/>).
    /// The writer's part stalls every write for its copy and fsync: it must be small and not come often.
    /// </summary>
    public const long DefaultFinishAboveFrames = 16_384;

    // What the writer may be left to copy (2 MB), how many passes to catch up, and the WAL size (1 GB) past which
    // the writer finishes however much is left.
    private const long QuickPassFrames = 512;
    private const int MaxCatchUpPasses = 8;
    private const long HardCapFrames = 262_144;
    // Short passes, often: each stalls the machine's 2 cores for its copy and fsyncs, and the bigger the pass the longer
    // the requests behind it wait (POST /tasks p99 at 4 connections, alternating runs: every 250 ms 10-13 ms, every
    // 100 ms 7-8.5 ms, every 50 ms 6-8 ms, every 1 s 16-43 ms). A pass with nothing new to copy returns at once.
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _connectionString;
    private readonly long _finishAboveFrames;
    private readonly Action _finish;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="finish">Asks the writer to copy what this pass left and so let the WAL start over.</param>
    public WalCheckpointer(string connectionString, long finishAboveFrames, Action finish)
    {
        _connectionString = connectionString;
        _finishAboveFrames = finishAboveFrames;
        _finish = finish;
        // Its own thread, not the thread pool: each pass blocks in SQLite's copy and fsyncs for milliseconds to tens
        // of them, and the pool on a 2-core machine has two threads to start with.
        new Thread(Run) { Name = "skiff-store-checkpoint", IsBackground = true }.Start();
    }

    private void Run()
    {
        try
        {
            RunPasses();
            _stopped.TrySetResult();
        }
        catch (Exception ex)
        {
            // Reported when the store is disposed, as a failed task would be; a thread must not take the process down.
            _stopped.TrySetException(ex);
        }
    }

    private void RunPasses()
    {
        using var session = new SqliteSession(_connectionString);
        var stopping = _stopping.Token.WaitHandle;
        while (!stopping.WaitOne(Interval))
        {
            try
            {
                // A pass with nothing new to copy costs next to nothing; one with frames copies them and fsyncs.
                var frames = Checkpoint(session);
                if (frames >= _finishAboveFrames)
                {
                    CatchUpAndFinish(session, frames);
                }
            }
            catch (SqliteException)
            {
                // Busy or I/O trouble: the WAL keeps everything; the next tick tries again.
            }
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

    /// <summary>
    /// Runs passes until one finds little new (so it was quick, and little was written meanwhile), then asks the
    /// writer to copy that little: its pass stalls every write for as long as it takes. When the load is such that
    /// no pass catches up, the writer is asked anyway once the WAL is past its hard cap: a bounded disk over a
    /// smooth tail latency.
    /// </summary>
    private void CatchUpAndFinish(SqliteSession session, long frames)
    {
        for (var pass = 0; pass < MaxCatchUpPasses; pass++)
        {
            var now = Checkpoint(session);
            var fresh = now - frames;
            frames = now;
            if (fresh <= QuickPassFrames)
            {
                _finish();
                return;
            }
        }
        if (frames >= HardCapFrames)
        {
            _finish();
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
        await _stopped.Task.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
