using Skiff.Core.Tasks;
using Skiff.Runtime.Execution;

namespace Skiff.Server.Secrets;

/// <summary>
/// Replaces the values of the secrets an attempt uses with <c>***</c> in everything kept from it: log lines,
/// output tails and error messages, before they are stored.
/// </summary>
/// <remarks>
/// The executor cuts lines longer than 64 KiB and keeps only the last 4 KiB of each stream as its tail, so a
/// value can also appear cut in two: a line that was cut may end with the start of a value, and a tail may begin
/// with the end of one. Those fragments (4 characters or more) are masked too. Each line of a multi-line value
/// (4 characters or more) is masked on its own, since output is stored line by line.
/// </remarks>
internal sealed class SecretMask
{
    public const string Replacement = "***";
    private const int MinFragment = 4;

    /// <summary>Lines this long (UTF-8 bytes) may have been cut by the executor (it cuts at 64 KiB).</summary>
    private const int MaybeCutLineBytes = 64 * 1024 - 4;

    public static readonly SecretMask None = new([]);

    // Longest first, so a value that contains another is replaced whole.
    private readonly string[] _values;

    public SecretMask(IEnumerable<string> values)
    {
        var all = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            if (value.Length == 0)
            {
                continue;
            }
            all.Add(value);
            if (value.Contains('\n', StringComparison.Ordinal))
            {
                foreach (var line in value.Split('\n'))
                {
                    var trimmed = line.TrimEnd('\r');
                    if (trimmed.Trim().Length >= MinFragment)
                    {
                        all.Add(trimmed);
                    }
                }
            }
        }
        _values = [.. all.OrderByDescending(v => v.Length).ThenBy(v => v, StringComparer.Ordinal)];
    }

    public bool IsEmpty => _values.Length == 0;

    /// <summary>Every whole occurrence replaced.</summary>
    public string Apply(string text)
    {
        foreach (var value in _values)
        {
            if (text.Contains(value, StringComparison.Ordinal))
            {
                text = text.Replace(value, Replacement, StringComparison.Ordinal);
            }
        }
        return text;
    }

    public string? ApplyOrNull(string? text) => text is null ? null : Apply(text);

    /// <summary>A log line: whole occurrences, and the start of a value at the end of a line the executor may have cut.</summary>
    public string ApplyToLine(string line)
    {
        line = Apply(line);
        if (IsEmpty || System.Text.Encoding.UTF8.GetByteCount(line) < MaybeCutLineBytes)
        {
            return line;
        }
        return MaskEnd(line);
    }

    /// <summary>An output tail: each line as <see cref="ApplyToLine"/>, and the end of a value where the tail begins mid-line.</summary>
    public string ApplyToTail(string tail)
    {
        if (IsEmpty || tail.Length == 0)
        {
            return tail;
        }
        var lines = tail.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = ApplyToLine(lines[i]);
        }
        lines[0] = MaskStart(lines[0]);
        return string.Join('\n', lines);
    }

    public ExecutionResult Apply(ExecutionResult result) => IsEmpty
        ? result
        : result with { Error = ApplyOrNull(result.Error), StdoutTail = ApplyToTail(result.StdoutTail), StderrTail = ApplyToTail(result.StderrTail) };

    /// <summary>The sink the executor writes to: every line masked before it reaches <paramref name="inner"/>.</summary>
    public IExecutionSink Wrap(IExecutionSink inner) => IsEmpty ? inner : new MaskingSink(this, inner);

    private string MaskEnd(string line)
    {
        var cut = 0;
        foreach (var value in _values)
        {
            cut = Math.Max(cut, Overlap(value, line));
        }
        return cut >= MinFragment ? string.Concat(line.AsSpan(0, line.Length - cut), Replacement) : line;
    }

    private string MaskStart(string line)
    {
        var cut = 0;
        var reversedLine = Reverse(line);
        foreach (var value in _values)
        {
            cut = Math.Max(cut, Overlap(Reverse(value), reversedLine));
        }
        return cut >= MinFragment ? string.Concat(Replacement, line.AsSpan(cut)) : line;
    }

    /// <summary>
    /// The length of the longest proper prefix of <paramref name="value"/> that <paramref name="text"/> ends with:
    /// Knuth–Morris–Pratt over the text, so linear even for 64 KiB values and lines.
    /// </summary>
    internal static int Overlap(string value, string text)
    {
        if (value.Length <= 1)
        {
            return 0;
        }
        var failure = new int[value.Length];
        for (int i = 1, k = 0; i < value.Length; i++)
        {
            while (k > 0 && value[i] != value[k])
            {
                k = failure[k - 1];
            }
            if (value[i] == value[k])
            {
                k++;
            }
            failure[i] = k;
        }
        var matched = 0;
        var start = Math.Max(0, text.Length - (value.Length - 1));
        for (var i = start; i < text.Length; i++)
        {
            while (matched > 0 && (matched == value.Length || text[i] != value[matched]))
            {
                matched = failure[matched - 1];
            }
            if (text[i] == value[matched])
            {
                matched++;
            }
        }
        // A whole value at the end was already replaced by Apply; only a proper prefix is a fragment.
        return matched == value.Length ? failure[matched - 1] : matched;
    }

    private static string Reverse(string text)
    {
        var chars = text.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }

    private sealed class MaskingSink(SecretMask mask, IExecutionSink inner) : IExecutionSink
    {
        public ValueTask WriteLineAsync(LogStream stream, string line, CancellationToken cancellationToken) =>
            inner.WriteLineAsync(stream, mask.ApplyToLine(line), cancellationToken);

        public void Started(DateTimeOffset at) => inner.Started(at);
    }
}
