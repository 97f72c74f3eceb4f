using Microsoft.AspNetCore.Http;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Images;
using Skiff.Server.Api;

namespace Skiff.Server.Images;

/// <summary>
/// At submission: the task's image must exist, when the executor runs images at all (the process executor
/// ignores them, so there any well-formed name is accepted).
/// </summary>
internal sealed class SubmitImageCheck(ITaskExecutor executor, ImageStore images)
{
    /// <summary>400 naming <c>image</c> when it is unknown; null when fine.</summary>
    public IResult? Check(string image) =>
        executor.Isolates && images.Find(image) is null
            ? Problems.Field("image", $"no image '{(image.Length <= 128 ? image : image[..128] + "…")}' (GET /images lists them; POST /images imports one)")
            : null;
}
