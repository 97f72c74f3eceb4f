using System.Buffers;
using System.Text.Json;
using Skiff.Core.Tasks;

namespace Skiff.Storage.Sqlite;

/// <summary>
/// A task's state history, kept in its own row (<c>tasks.history</c>) as JSON lines, one per transition:
/// <c>[at, status, attempt, reason]</c>. The transition's UPDATE appends its line (<c>history = history || $line</c>),
/// so recording a transition costs no statement and no b-tree write of its own; a separate events table
/// (a row and an index entry per event) was a fifth of the queue core's writer time. The history goes where the
/// task goes (retention deletes both at once) and is read with it.
/// </summary>
internal static class TaskHistory
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// The line for one transition, valid until this thread encodes the next one (SQLite copies it when bound).
    /// </summary>
    public static ReadOnlySpan<byte> Line(long at, TaskState status, int attempt, string? reason)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var json = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        json.Reset(buffer);
        json.WriteStartArray();
        json.WriteNumberValue(at);
        json.WriteNumberValue((int)status);
        json.WriteNumberValue(attempt);
        if (reason is null)
        {
            json.WriteNullValue();
        }
        else
        {
            json.WriteStringValue(reason);
        }
        json.WriteEndArray();
        json.Flush();
        buffer.Write("\n"u8);
        return buffer.WrittenSpan;
    }

    /// <summary>The events of a stored history, oldest first.</summary>
    /// <exception cref="InvalidDataException">A line is not one this class wrote.</exception>
    public static List<TaskEvent> Parse(ReadOnlySpan<byte> history)
    {
        var events = new List<TaskEvent>();
        while (!history.IsEmpty)
        {
            var end = history.IndexOf((byte)'\n');
            var line = end < 0 ? history : history[..end];
            history = end < 0 ? default : history[(end + 1)..];
            if (!line.IsEmpty)
            {
                events.Add(ParseLine(line));
            }
        }
        return events;
    }

    private static TaskEvent ParseLine(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            Expect(ref reader, JsonTokenType.StartArray);
            Expect(ref reader, JsonTokenType.Number);
            var at = reader.GetInt64();
            Expect(ref reader, JsonTokenType.Number);
            var status = (TaskState)reader.GetInt32();
            Expect(ref reader, JsonTokenType.Number);
            var attempt = reader.GetInt32();
            if (!reader.Read() || reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
            {
                throw new InvalidDataException("a task history line's reason is not a string or null");
            }
            var reason = reader.GetString();
            Expect(ref reader, JsonTokenType.EndArray);
            return new TaskEvent(SqliteCommandExtensions.FromUnixMs(at), status, attempt, reason);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException("a task history line is not [at, status, attempt, reason]", ex);
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token)
    {
        if (!reader.Read() || reader.TokenType != token)
        {
            throw new InvalidDataException($"a task history line has no {token} where one belongs");
        }
    }
}
