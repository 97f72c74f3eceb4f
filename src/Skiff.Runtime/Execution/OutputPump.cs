using System.Buffers;
using System.Text;
using Skiff.Core.Tasks;

namespace Skiff.Runtime.Execution;

/// <summary>
/// Reads one output stream of a process, hands each line to the sink and keeps the stream's tail.
/// </summary>
/// <remarks>
/// Splits raw bytes rather than using a <see cref="StreamReader"/> so that a process writing one endless
/// line cannot make us buffer it whole: past <see cref="ProcessExecutor.MaxLineBytes"/> the rest of the
/// line is dropped. Awaiting the sink before reading on is the back-pressure: while the sink is slow the
/// pipe fills and the process blocks on write.
/// </remarks>
internal sealed class OutputPump
{
    private const byte NewLine = (byte)'\n';

    private readonly Stream _stream;
    private readonly LogStream _kind;
    private readonly IExecutionSink _sink;
    private readonly int _maxLineBytes;
    private readonly Action _onSinkFault;
    private readonly TailBuffer _tail;
    private byte[] _line = new byte[256];
    private int _lineLength;
    private bool _truncated;

    public OutputPump(Stream stream, LogStream kind, IExecutionSink sink, int maxLineBytes, int tailChars, Action onSinkFault)
    {
        _stream = stream;
        _kind = kind;
        _sink = sink;
        _maxLineBytes = maxLineBytes;
        _onSinkFault = onSinkFault;
        _tail = new TailBuffer(tailChars);
    }

    /// <summary>The last lines written, joined by newlines.</summary>
    public string Tail => _tail.ToString();

    /// <summary>The first line written, if any (kept to recognise a launcher's own exec failure).</summary>
    public string? FirstLine { get; private set; }

    /// <summary>What the sink threw, if it failed; the pump stops at the first failure.</summary>
    public Exception? SinkFault { get; private set; }

    /// <summary>
    /// Pumps until end of stream or until <paramref name="cancellationToken"/> fires; never throws.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
                {
                    return;
                }
                if (read == 0)
                {
                    break;
                }

                var start = 0;
                while (start < read)
                {
                    var newLine = Array.IndexOf(buffer, NewLine, start, read - start);
                    var end = newLine < 0 ? read : newLine;
                    Append(buffer.AsSpan(start, end - start));
                    if (newLine < 0)
                    {
                        break;
                    }
                    if (!await EmitAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return;
                    }
                    start = newLine + 1;
                }
            }

            if (_lineLength > 0 || _truncated)
            {
                // A last line without its newline.
                await EmitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        var room = _maxLineBytes - _lineLength;
        if (bytes.Length > room)
        {
            _truncated = true;
            bytes = bytes[..room];
        }
        if (bytes.IsEmpty)
        {
            return;
        }
        if (_lineLength + bytes.Length > _line.Length)
        {
            Array.Resize(ref _line, Math.Min(_maxLineBytes, Math.Max(_line.Length * 2, _lineLength + bytes.Length)));
        }
        bytes.CopyTo(_line.AsSpan(_lineLength));
        _lineLength += bytes.Length;
    }

    private async Task<bool> EmitAsync(CancellationToken cancellationToken)
    {
        var length = _lineLength;
        if (_truncated)
        {
            length = CompleteUtf8Length(_line.AsSpan(0, length));
        }
        else if (length > 0 && _line[length - 1] == (byte)'\r')
        {
            length--;
        }
        var text = Encoding.UTF8.GetString(_line, 0, length);
        _lineLength = 0;
        _truncated = false;

        FirstLine ??= text;
        _tail.Append(text);
        try
        {
            await _sink.WriteLineAsync(_kind, text, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e)
        {
            SinkFault = e;
            _onSinkFault();
            return false;
        }
    }

    /// <summary>The length of <paramref name="bytes"/> without a UTF-8 sequence cut off at its end.</summary>
    internal static int CompleteUtf8Length(ReadOnlySpan<byte> bytes)
    {
        var lead = bytes.Length - 1;
        while (lead > 0 && (bytes[lead] & 0xC0) == 0x80)
        {
            lead--;
        }
        if (lead < 0)
        {
            return 0;
        }
        var first = bytes[lead];
        var sequenceLength = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1;
        return lead + sequenceLength > bytes.Length ? lead : bytes.Length;
    }

    /// <summary>Keeps about the last N characters of the lines appended, cut at a line start when possible.</summary>
    private sealed class TailBuffer
    {
        private readonly int _capacity;
        private readonly StringBuilder _text = new();
        // The executor may read the tail while an abandoned pump still appends.
        private readonly Lock _gate = new();
        private bool _trimmed;

        public TailBuffer(int capacity)
        {
            _capacity = capacity;
        }

        public void Append(string line)
        {
            lock (_gate)
            {
                if (_text.Length > 0)
                {
                    _text.Append('\n');
                }
                _text.Append(line.Length > _capacity ? line.AsSpan(line.Length - _capacity) : line);
                // Trim in bulk so appending stays amortised O(1).
                if (_text.Length > 2 * _capacity)
                {
                    _text.Remove(0, _text.Length - _capacity);
                    _trimmed = true;
                }
            }
        }

        public override string ToString()
        {
            lock (_gate)
            {
                if (_text.Length <= _capacity && !_trimmed)
                {
                    return _text.ToString();
                }
                var length = Math.Min(_capacity, _text.Length);
                var tail = _text.ToString(_text.Length - length, length);
                var lineStart = tail.IndexOf('\n', StringComparison.Ordinal);
                return lineStart >= 0 && lineStart < tail.Length - 1 ? tail[(lineStart + 1)..] : tail;
            }
        }
    }
}
