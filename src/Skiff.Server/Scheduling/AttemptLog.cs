using System.Threading.Channels;
using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;
using Skiff.Storage.Contract;

namespace Skiff.Server.Scheduling;

/// <summary>
/// Receives an attempt's output lines and stores them in batches (one store write per batch, not per line).
/// The bounded channel pushes back on a task that prints faster than the store can keep.
/// </summary>
internal sealed class AttemptLog : IExecutionSink
{
    private const int BatchSize = 512;
    private readonly Channel<LogLine> _lines = Channel.CreateBounded<LogLine>(new BoundedChannelOptions(4096) { SingleReader = true });
    private readonly ITaskStore _store;
    private readonly LogNotifier _notifier;
    private readonly TimeProvider _time;
    private readonly string _taskId;
    private readonly int _attempt;
    private readonly Task _pump;
    private long _lineNo;

    public AttemptLog(ITaskStore store, LogNotifier notifier, TimeProvider time, string taskId, int attempt, long lastLineNo)
    {
        _store = store;
        _notifier = notifier;
        _time = time;
        _taskId = taskId;
        _attempt = attempt;
        _lineNo = lastLineNo;
        _pump = Task.Run(PumpAsync);
    }

    public DateTimeOffset? StartedAt { get; private set; }

    public void Started(DateTimeOffset at) => StartedAt = at;

    public ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken) =>
        _lines.Writer.WriteAsync(new LogLine(Interlocked.Increment(ref _lineNo), _time.GetUtcNow(), stream, _attempt, line), cancellationToken);

    /// <summary>A line from Skiff itself (e.g. why an attempt could not start), stored with the task's output.</summary>
    public ValueTask WriteSystemLineAsync(string line) => WriteLineAsync(LogStream.System, line, CancellationToken.None);

    /// <summary>Stores every line written so far; call once, after the process ended.</summary>
    public async Task CompleteAsync()
    {
        _lines.Writer.TryComplete();
        await _pump.ConfigureAwait(false);
    }

    private async Task PumpAsync()
    {
        var batch = new List<LogLine>(BatchSize);
        var reader = _lines.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < BatchSize && reader.TryRead(out var line))
            {
                batch.Add(line);
            }
            await _store.AppendLogsAsync(_taskId, batch.ToArray(), CancellationToken.None).ConfigureAwait(false);
            batch.Clear();
            _notifier.Notify(_taskId);
        }
    }
}
