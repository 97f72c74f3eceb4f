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
    private readonly Task _loop;
    private readonly List<WriteOp> _batch = new(MaxBatch);

    public GroupCommitWriter(SqliteSession session)
    {
        _session = session;
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
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

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
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
        }
    }

    private bool TryRunBatch(List<WriteOp> batch)
    {
        try
        {
            _session.Execute("BEGIN IMMEDIATE");
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
            _session.Execute("COMMIT");
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
        await _loop.ConfigureAwait(false);
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
