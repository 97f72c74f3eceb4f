using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Skiff.Runtime.Images;
using Skiff.Server.Api;
using Skiff.Server.Auth;
using Skiff.Server.Telemetry;

namespace Skiff.Server.Images;

/// <summary>
/// /images: import (the tarball is the request body), list and remove images of the local store. Importing and
/// removing are for admins; every authenticated caller may list.
/// </summary>
internal static class ImageEndpoints
{
    private static readonly string[] TarballTypes = ["application/x-tar", "application/octet-stream", "application/gzip", "application/x-gzip"];

    public static IEndpointRouteBuilder MapImageEndpoints(this IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/images").WithTags("Images");
        images.MapGet("/", List).Produces<ImageListDocument>().WithSummary("Every version of every image, built-ins first.");
        images.MapPost("/", ImportAsync)
            .Accepts<Stream>("application/x-tar", "application/octet-stream")
            .Produces<ImageImportDocument>(StatusCodes.Status201Created)
            .Produces<ImageImportDocument>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithSummary("Import an OCI image layout or docker save tarball as ?name=NAME[:TAG] (&force=true replaces an existing tag).")
            .RequireAdmin();
        images.MapDelete("/{**name}", RemoveAsync)
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Remove NAME:TAG, or every version of NAME.")
            .RequireAdmin();
        return app;
    }

    private static IResult List(ImageStore store) =>
        TypedResults.Ok(new ImageListDocument(store.List().Select(ImageDocument.From).ToList()));

    private static async Task<IResult> ImportAsync(HttpContext context, ImageStore store, ILoggerFactory loggers)
    {
        var request = context.Request;
        var name = request.Query["name"].ToString();
        if (!ImageReference.TryParse(name, out _, out var nameError))
        {
            return Problems.Field("name", nameError);
        }
        var forceText = request.Query["force"].ToString();
        if (forceText.Length > 0 && !bool.TryParse(forceText, out _))
        {
            return Problems.Field("force", "must be true or false");
        }
        var force = forceText.Length > 0 && bool.Parse(forceText);
        var mediaType = request.ContentType?.Split(';')[0].Trim();
        if (mediaType is null || !TarballTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            return Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"body: send the tarball with Content-Type: {string.Join(" or ", TarballTypes)}");
        }

        // The server's 1 MB body limit is for JSON; an image may be as large as the store accepts.
        var limit = store.Options.MaxArchiveBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }
        if (request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        await store.InitializeAsync(context.RequestAborted);
        Directory.CreateDirectory(store.UploadsDirectory);
        var upload = Path.Combine(store.UploadsDirectory, Guid.NewGuid().ToString("N") + ".tar");
        try
        {
            try
            {
                await using var file = new FileStream(upload, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    total += read;
                    if (total > limit)
                    {
                        return TooLarge(limit);
                    }
                    await file.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                }
                if (total == 0)
                {
                    return Problems.Field("body", "is empty: send the image tarball as the request body");
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge(limit);
            }
            catch (BadHttpRequestException e)
            {
                return Problems.Status(e.StatusCode, "Bad request", "body: " + e.Message);
            }
            catch (IOException e) when (e.InnerException is OverflowException)
            {
                // Kestrel reports a chunk size that overflows as a plain IOException, not a BadHttpRequestException.
                return Problems.Status(StatusCodes.Status400BadRequest, "Bad request", "body: " + e.Message);
            }

            var import = await store.ImportAsync(name, upload, force, context.RequestAborted);
            Log.ImageImported(loggers.CreateLogger("Skiff"), import.Image.Reference.ToString(), import.Outcome.ToString(),
                import.Image.Digest, import.Image.Size, import.Pruned.Count);
            var document = new ImageImportDocument(ImageDocument.From(import.Image), import.Outcome.ToString().ToLowerInvariant(),
                import.Pruned.Select(ImageDocument.From).ToList());
            return import.Outcome == ImageImportOutcome.Unchanged
                ? TypedResults.Ok(document)
                : TypedResults.Created($"/images/{import.Image.Name}:{import.Image.Tag}", document);
        }
        catch (ImageStoreException e)
        {
            return ToProblem(e);
        }
        finally
        {
            File.Delete(upload);
        }
    }

    private static async Task<IResult> RemoveAsync(string name, ImageStore store, HttpContext context)
    {
        try
        {
            await store.RemoveAsync(Uri.UnescapeDataString(name), context.RequestAborted);
            return TypedResults.NoContent();
        }
        catch (ImageStoreException e)
        {
            return ToProblem(e);
        }
    }

    /// <summary>Each message starts with the field at fault ("name: …", "body: …").</summary>
    private static IResult ToProblem(ImageStoreException e)
    {
        var colon = e.Message.IndexOf(": ", StringComparison.Ordinal);
        var (field, message) = colon > 0 ? (e.Message[..colon], e.Message[(colon + 2)..]) : ("body", e.Message);
        return e.Error switch
        {
            ImageError.NotFound => Problems.NotFound(e.Message),
            ImageError.TagExists => Problems.Status(StatusCodes.Status409Conflict, "The tag exists", e.Message),
            ImageError.BuiltIn => Problems.Status(StatusCodes.Status409Conflict, "Built-in image", e.Message),
            ImageError.TooLarge => Problems.Status(StatusCodes.Status413PayloadTooLarge, "Image too large", e.Message),
            _ => Problems.Field(field, message),
        };
    }

    private static IResult TooLarge(long limit) =>
        Problems.Status(StatusCodes.Status413PayloadTooLarge, "Image too large",
            $"body: the archive is larger than {limit} bytes, the configured maximum (Skiff:Images:MaxArchiveMb)");
}
