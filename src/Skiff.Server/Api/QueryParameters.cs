using System.Globalization;
using Microsoft.AspNetCore.Http;
using Skiff.Core.Validation;

namespace Skiff.Server.Api;

/// <summary>Query-string values shared by the listing endpoints; a bad one is added to the request's errors.</summary>
internal static class QueryParameters
{
    /// <summary>The integer <paramref name="name"/> within [min, max], or null when absent or invalid.</summary>
    public static int? Int(IQueryCollection query, string name, int min, int max, ValidationErrors errors)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return null;
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            errors.Add(name, $"must be an integer between {min} and {max}");
            return null;
        }
        return value;
    }

    /// <summary>A keyset cursor this API returned (a positive position), or null when absent or invalid.</summary>
    public static long? Cursor(IQueryCollection query, ValidationErrors errors)
    {
        var text = query["cursor"].ToString();
        if (text.Length == 0)
        {
            return null;
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor) || cursor <= 0)
        {
            errors.Add("cursor", "is not a cursor returned by this API");
            return null;
        }
        return cursor;
    }
}
