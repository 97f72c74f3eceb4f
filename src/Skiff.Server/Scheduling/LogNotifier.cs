using System.Collections.Concurrent;

namespace Skiff.Server.Scheduling;

/// <summary>Wakes log followers when new lines of a task are stored or the task ends.</summary>
internal sealed class LogNotifier
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _watchers = new(StringComparer.Ordinal);

    /// <summary>Register before reading, then await: a signal between the read and the await is not lost.</summary>
    public Task Watch(string taskId) =>
        _watchers.GetOrAdd(taskId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string taskId)
    {
        if (_watchers.TryRemove(taskId, out var watcher))
        {
            watcher.TrySetResult();
        }
    }
}
