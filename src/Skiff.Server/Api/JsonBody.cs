using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Skiff.Server.Api;

/// <summary>
/// Reads a JSON request body into <typeparamref name="T"/> and turns every way that can go wrong into a
/// problem naming the field: not JSON, wrong type, unknown field, too large, too deep.
/// </summary>
internal static class JsonBody
{
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (request.ContentType is { } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"the body must be JSON (Content-Type: application/json), not '{contentType}'"));
        }
        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, typeInfo, request.HttpContext.RequestAborted);
            return value is null ? (null, Problems.Field("body", "must be a JSON object")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.Field(FieldOf(ex.Path), Describe(ex)));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.Status(StatusCodes.Status413PayloadTooLarge, "Request body too large", "body: " + ex.Message));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, Problems.Status(ex.StatusCode, "Bad request", "body: " + ex.Message));
        }
        catch (DecoderFallbackException)
        {
            return (null, Problems.Field("body", "is not valid UTF-8"));
        }
        catch (IOException ex) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Kestrel reports some broken framing (a chunk size that overflows) as a plain IOException.
            return (null, Problems.Status(StatusCodes.Status400BadRequest, "Bad request", "body: " + ex.Message));
        }
    }

    /// <summary>
    /// The text of a JSON string, or null when it is not text (invalid UTF-8, a lone surrogate escape): the
    /// deserializer checks strings it converts, but a <see cref="JsonElement"/>'s only when it is read.
    /// </summary>
    public static string? TextOf(JsonElement element)
    {
        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>"$.priority" → "priority", "$.env.FOO" → "env.FOO", "$" or null → "body".</summary>
    private static string FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static string Describe(JsonException ex)
    {
        // System.Text.Json's messages name .NET types; say what a JSON user needs instead.
        var message = ex.Message;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return "is not a known field";
        }
        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return ex.Path switch
            {
                null or "$" => "must be a JSON object",
                var p when p.Contains("command", StringComparison.Ordinal) => "must be an array of strings",
                var p when p.Contains("env", StringComparison.Ordinal) || p.Contains("metadata", StringComparison.Ordinal) || p.Contains("secrets", StringComparison.Ordinal) => "must be an object of string values",
                var p when p.Contains("parameters", StringComparison.Ordinal) => "must be an object",
                _ when message.Contains("converted to System.String", StringComparison.Ordinal) => "must be a string",
                _ when message.Contains("System.Boolean", StringComparison.Ordinal) => "must be true or false",
                _ => "must be an integer in range",
            };
        }
        if (message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return "is nested too deeply";
        }
        return "is not valid JSON";
    }
}
