using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Skiff.Server.Tests.Infrastructure;

/// <summary>What came back for a raw request: the status (null when the server closed without answering) and the head.</summary>
public sealed record RawResponse(int? Status, string Head);

/// <summary>
/// Sends bytes exactly as given over a fresh TCP connection: requests no HTTP client would send (raw non-ASCII
/// bytes in the request line, broken framing, lying Content-Length), to see what the server answers.
/// </summary>
public static class RawHttp
{
    /// <summary>Writes <paramref name="request"/> and reads until the response head is complete or the server closes.</summary>
    public static async Task<RawResponse> SendAsync(Uri server, byte[] request, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cts.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, cts.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before it has read everything (431, 413); read what it said.
        }
        var head = new StringBuilder();
        var buffer = new byte[16 * 1024];
        try
        {
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    break;
                }
                head.Append(Encoding.Latin1.GetString(buffer, 0, read));
                if (head.Length >= 5 && !head.ToString(0, 5).Equals("HTTP/", StringComparison.Ordinal))
                {
                    // Not HTTP/1 (an HTTP/2 SETTINGS frame, say): no head will ever end.
                    break;
                }
            }
        }
        catch (IOException)
        {
            // A reset after (or instead of) the answer: keep what was read.
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no answer within {timeout.TotalSeconds:0} s to: {Describe(request)}");
        }
        var text = head.ToString();
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        text = end < 0 ? text : text[..end];
        return new RawResponse(ParseStatus(text), text);
    }

    public static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>The request's first 120 bytes, non-printable ones escaped, for failure messages.</summary>
    public static string Describe(byte[] request)
    {
        var text = new StringBuilder();
        foreach (var b in request.Take(120))
        {
            text.Append(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : b is (byte)'\r' ? "\\r" : b is (byte)'\n' ? "\\n" : $"\\x{b:X2}");
        }
        return request.Length > 120 ? text + $"… ({request.Length} bytes)" : text.ToString();
    }

    private static int? ParseStatus(string head) =>
        head.StartsWith("HTTP/1.", StringComparison.Ordinal) && head.Length >= 12
            && int.TryParse(head.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status)
            ? status
            : null;
}
