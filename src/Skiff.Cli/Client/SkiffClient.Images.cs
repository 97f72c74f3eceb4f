using System.Net.Http.Headers;

namespace Skiff.Cli.Client;

/// <summary>/images: import a tarball, list, remove.</summary>
internal sealed partial class SkiffClient
{
    /// <summary>Streams <paramref name="archive"/> as the body; no request timeout (an image may be large).</summary>
    public async Task<ImageImportDocument> ImportImageAsync(string name, Stream archive, bool force, CancellationToken cancellationToken)
    {
        var path = "images?name=" + Uri.EscapeDataString(name) + (force ? "&force=true" : "");
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StreamContent(archive) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        if (archive.CanSeek)
        {
            message.Content.Headers.ContentLength = archive.Length;
        }
        // The server can refuse (too large, bad name, not an admin) before a byte of the archive is sent.
        message.Headers.ExpectContinue = true;
        using var response = await SendAsync(message, allowNotFound: false, cancellationToken, streaming: true);
        return await ReadJsonAsync(response, SkiffJsonContext.Default.ImageImportDocument, cancellationToken);
    }

    public Task<ImageList> ListImagesAsync(CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Get, "images"), SkiffJsonContext.Default.ImageList, cancellationToken);

    public async Task DeleteImageAsync(string name, CancellationToken cancellationToken)
    {
        // '/' in a name stays a path separator (the route takes the rest of the path); ':' and others are escaped.
        var path = "images/" + string.Join('/', name.Split('/').Select(Uri.EscapeDataString));
        using var message = new HttpRequestMessage(HttpMethod.Delete, path);
        using var response = await SendAsync(message, allowNotFound: false, cancellationToken);
    }
}
