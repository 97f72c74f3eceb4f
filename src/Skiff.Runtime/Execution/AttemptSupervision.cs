namespace Skiff.Runtime.Execution;

/// <summary>
/// What every executor does around a running attempt, the same way: pump stdout and stderr into the sink,
/// one token that fires on the caller's cancel, the attempt's timeout or a failing sink, the reason it fired,
/// a bounded drain of the output once the attempt is over, and the sink's own failure rethrown.
/// </summary>
internal sealed class AttemptSupervision : IDisposable
{
    private readonly CancellationTokenSource _sinkFailed = new();
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _timeout;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _cancellation;
    private readonly TimeSpan _timeoutValue;
    private readonly TimeProvider _timeProvider;
    private readonly Task _pumping;

    public AttemptSupervision(Stream stdout, Stream stderr, IExecutionSink sink, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        _cancellation = cancellationToken;
        _timeoutValue = timeout;
        _timeProvider = timeProvider;
        var onSinkFault = ExecutionSupport.CancelAction(_sinkFailed);
        Stdout = new OutputPump(stdout, Core.Tasks.LogStream.Stdout, sink, ProcessExecutor.MaxLineBytes, ProcessExecutor.TailChars, onSinkFault);
        Stderr = new OutputPump(stderr, Core.Tasks.LogStream.Stderr, sink, ProcessExecutor.MaxLineBytes, ProcessExecutor.TailChars, onSinkFault);
        _pumping = Task.WhenAll(Stdout.RunAsync(_stopReading.Token), Stderr.RunAsync(_stopReading.Token));
        _timeout = ExecutionSupport.CreateTimeout(timeout, timeProvider);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeout.Token, _sinkFailed.Token);
    }

    public OutputPump Stdout { get; }

    public OutputPump Stderr { get; }

    /// <summary>Both pumps reached the end of their pipes (every writer is gone).</summary>
    public Task Pumping => _pumping;

    /// <summary>Fires when the attempt must stop: cancelled, timed out or its sink failed.</summary>
    public CancellationToken Stop => _stop.Token;

    /// <summary>
    /// Why <see cref="Stop"/> fired. A caller's cancel wins over a timeout that fired at the same moment;
    /// otherwise the sink failed, and <see cref="ThrowIfSinkFailed"/> rethrows its exception once the
    /// attempt is cleaned up.
    /// </summary>
    public (ExecutionStatus Status, string Error) StoppedBecause() =>
        _cancellation.IsCancellationRequested ? (ExecutionStatus.Cancelled, "cancelled")
        : _timeout.IsCancellationRequested ? (ExecutionStatus.TimedOut, $"timed out after {ExecutionSupport.Describe(_timeoutValue)}")
        : (ExecutionStatus.Cancelled, "output sink failed");

    /// <summary>Lets the pumps read what is left (bounded twice by <paramref name="bound"/>: a pipe kept open by a stray process is abandoned).</summary>
    public async Task DrainAsync(TimeSpan bound)
    {
        if (!await ExecutionSupport.WaitBoundedAsync(_pumping, bound, _timeProvider).ConfigureAwait(false))
        {
            await _stopReading.CancelAsync().ConfigureAwait(false);
            await ExecutionSupport.WaitBoundedAsync(_pumping, bound, _timeProvider).ConfigureAwait(false);
        }
    }

    /// <summary>Rethrows the sink's failure, unless it is the cancellation the caller asked for.</summary>
    public void ThrowIfSinkFailed()
    {
        if ((Stdout.SinkFault ?? Stderr.SinkFault) is { } fault
            && !(fault is OperationCanceledException && _cancellation.IsCancellationRequested))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fault);
        }
    }

    public void Dispose()
    {
        _stop.Dispose();
        _timeout.Dispose();
        _stopReading.Dispose();
        _sinkFailed.Dispose();
    }
}
