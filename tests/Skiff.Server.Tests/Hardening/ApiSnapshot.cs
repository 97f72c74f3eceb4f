using System.Net;
using System.Text.Json.Nodes;

namespace Skiff.Server.Tests.Hardening;

/// <summary>
/// What the API lists, read through every parameterless GET route that answers a list (<c>{ items }</c> or
/// a JSON array), following <c>nextCursor</c>: each item's exact JSON, so a later snapshot shows what was
/// added, removed or changed. Endpoints added later are included without changing this class.
/// </summary>
internal sealed class ApiSnapshot
{
    private ApiSnapshot(Dictionary<string, List<string>> listings) => Listings = listings;

    /// <summary>Route → the JSON of every item it lists.</summary>
    public IReadOnlyDictionary<string, List<string>> Listings { get; }

    /// <summary>
    /// Reads every listing of <paramref name="routes"/> as <paramref name="client"/> (the admin). Routes that do
    /// not answer a list are left out.
    /// </summary>
    public static async Task<ApiSnapshot> TakeAsync(HttpClient client, IEnumerable<string> routes)
    {
        var listings = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var route in routes)
        {
            if (await ReadListAsync(client, route) is { } items)
            {
                listings[route] = items;
            }
        }
        return new ApiSnapshot(listings);
    }

    private static async Task<List<string>?> ReadListAsync(HttpClient client, string route)
    {
        // Paged lists take limit and cursor; one that refuses them (400) is read whole, in one answer.
        bool paged;
        using (var probe = await client.GetAsync(route + "?limit=500"))
        {
            paged = probe.StatusCode != HttpStatusCode.BadRequest;
        }
        var items = new List<string>();
        string? cursor = null;
        for (var page = 0; page < 1000; page++)
        {
            var query = paged ? "?limit=500" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)) : "";
            using var response = await client.GetAsync(route + query);
            if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != "application/json")
            {
                return null;
            }
            var document = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            if ((document as JsonArray ?? (document as JsonObject)?["items"] as JsonArray) is not { } array)
            {
                return null;
            }
            items.AddRange(array.Select(item => item?.ToJsonString() ?? "null"));
            cursor = paged ? (document as JsonObject)?["nextCursor"]?.ToString() : null;
            if (cursor is null)
            {
                return items;
            }
        }
        throw new InvalidOperationException($"{route}: more than 1000 pages");
    }
}
