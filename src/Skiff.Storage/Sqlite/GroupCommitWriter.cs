using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// The single writer of the SQLite file. Callers queue a unit of work and await it; the writer runs every
/// unit that is waiting in one transaction and commits once (group commit), so the cost of a commit is
/// shared by all the callers that arrived while the previous one ran. A caller's task completes only after
/// its transaction committed: an acknowledged write is on disk (in the WAL) and survives kill -9.
/// </summary>
internal sealed class GroupCommitWriter : IAsyncDisposable
{
    private const int MaxBatch = 4096;
    private readonly Channel<WriteOp> _channel = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteSession _session;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<WriteOp> _batch = new(MaxBatch);
    private int _checkpointWanted;

    public GroupCommitWriter(SqliteSession session)
    {
        _session = session;
        // Its own thread, not the thread pool: it is busy whenever the store is, and it blocks when idle.
        _thread = new Thread(Run) { Name = "skiff-store-writer", IsBackground = true };
        _thread.Start();
    }

    public Task<T> ExecuteAsync<T>(Func<SqliteSession, T> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var op = new WriteOp<T>(work);
        if (!_channel.Writer.TryWrite(op))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "the store is closed");
        }
        // Once queued the write happens even if the caller stops waiting: it may already be committed.
        return op.Completion.Task;
    }

    private void Run()
    {
        try
        {
            RunBatches();
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void RunBatches()
    {
        var reader = _channel.Reader;
        while (reader.TryPeek(out _) || reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            _batch.Clear();
            while (_batch.Count < MaxBatch && reader.TryRead(out var op))
            {
                _batch.Add(op);
            }
            if (!TryRunBatch(_batch))
            {
                // One unit failed (or the disk did): run each alone so one bad unit cannot fail the others.
                foreach (var op in _batch)
                {
                    TryRunBatch([op]);
                }
            }
            if (Interlocked.Exchange(ref _checkpointWanted, 0) != 0)
            {
                FinishCheckpoint();
            }
        }
    }

    /// <summary>
    /// Asks the writer to finish a checkpoint between two of its transactions (see <see cref="WalCheckpointer"/>).
    /// </summary>
    public void RequestCheckpoint() => Volatile.Write(ref _checkpointWanted, 1);

    /// <summary>
    /// A checkpoint run beside a busy writer never catches up with it, and SQLite only starts the WAL over once
    /// every frame was copied back: under steady load the WAL would grow without end (it reached 675 MB for a
    /// 100 MB database in the queue benchmark, every append a fresh block to allocate and zero, and a full disk
    /// at the end of it). Here, between transactions, nothing is appended meanwhile, so this pass copies the few
    /// frames the background pass left and the next commit starts the WAL from its beginning.
    /// </summary>
    private void FinishCheckpoint()
    {
        try
        {
            _session.Execute("PRAGMA wal_checkpoint(PASSIVE)");
        }
        catch (SqliteException)
        {
            // Busy or I/O trouble: the WAL keeps everything; the background pass asks again.
        }
    }

    private bool TryRunBatch(List<WriteOp> batch)
    {
        try
        {
            // Prepared once (a command per call would prepare the SQL again for every transaction).
            _session.Statement("BEGIN IMMEDIATE").Execute();
        }
        catch (SqliteException ex)
        {
            FailAll(batch, ex);
            return true;
        }
        try
        {
            foreach (var op in batch)
            {
                op.Run(_session);
            }
            _session.Statement("COMMIT").Execute();
        }
        catch (Exception ex)
        {
            try
            {
                _session.Execute("ROLLBACK");
            }
            catch (SqliteException)
            {
                // SQLite may have rolled back already (e.g. SQLITE_FULL); nothing left to undo.
            }
            if (batch.Count == 1)
            {
                batch[0].Fail(ex);
                return true;
            }
            return false;
        }
        foreach (var op in batch)
        {
            op.Complete();
        }
        return true;
    }

    private static void FailAll(List<WriteOp> batch, Exception ex)
    {
        foreach (var op in batch)
        {
            op.Fail(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
        // The writer owns its session: closing it checkpoints the WAL and releases the file.
        _session.Dispose();
    }

    private abstract class WriteOp
    {
        public abstract void Run(SqliteSession session);

        public abstract void Complete();

        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOp<T>(Func<SqliteSession, T> work) : WriteOp
    {
        private T? _result;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(SqliteSession session) => _result = work(session);

        public override void Complete() => Completion.TrySetResult(_result!);

        public override void Fail(Exception ex) => Completion.TrySetException(ex);
    }
}
