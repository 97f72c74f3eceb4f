using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;

namespace Skiff.Runtime.Tests.Execution;

/// <summary>Records what an executor reports, safe to read while the attempt is still running.</summary>
internal sealed class RecordingSink : IExecutionSink
{
    private readonly Lock _gate = new();
    private readonly List<(LogStream Stream, string Line)> _lines = [];
    private DateTimeOffset? _startedAt;

    public DateTimeOffset? StartedAt
    {
        get
        {
            lock (_gate)
            {
                return _startedAt;
            }
        }
    }

    public IReadOnlyList<string> Lines(LogStream stream)
    {
        lock (_gate)
        {
            return [.. _lines.Where(l => l.Stream == stream).Select(l => l.Line)];
        }
    }

    public ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _lines.Add((stream, line));
        }
        return ValueTask.CompletedTask;
    }

    public void Started(DateTimeOffset at)
    {
        lock (_gate)
        {
            _startedAt = at;
        }
    }
}
