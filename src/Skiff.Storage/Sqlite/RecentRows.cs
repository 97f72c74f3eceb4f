using System.Collections.Concurrent;
using Skiff.Core.Tasks;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// The rows this process last wrote for tasks still in flight (waiting or running), with their specs already
/// parsed: a lease or a completion starts from here instead of reading the row back and parsing its JSON. Only
/// a hint: the writer checks by rowid that the stored row still is the remembered one before it writes (see
/// <c>SqliteTaskStore.Transition</c>), and reads it afresh when it is not. Bounded: past the limit, new tasks are
/// not remembered and take the read path.
/// </summary>
internal sealed class RecentRows(int limit)
{
    private readonly ConcurrentDictionary<string, TaskRow> _rows = new(StringComparer.Ordinal);
    private int _count;

    public TaskRow? Recall(string taskId) => _rows.TryGetValue(taskId, out var row) ? row : null;

    /// <summary>Keeps <paramref name="row"/> while its task is in flight; forgets it once the task ended.</summary>
    public void Remember(TaskRow row)
    {
        if (row.Status.IsTerminal())
        {
            Forget(row.Id);
        }
        else if (_rows.ContainsKey(row.Id))
        {
            _rows[row.Id] = row;
        }
        else if (Volatile.Read(ref _count) < limit && _rows.TryAdd(row.Id, row))
        {
            Interlocked.Increment(ref _count);
        }
    }

    public void Forget(string taskId)
    {
        if (_rows.TryRemove(taskId, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
