using Skiff.Core.Validation;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Images;

namespace Skiff.Server.Images;

/// <summary>
/// At submission: the task's image must exist when the executor runs images (the process executor ignores them,
/// so there any well-formed name is accepted).
/// </summary>
internal sealed class SubmitImageCheck(ITaskExecutor executor, ImageStore images)
{
    /// <summary>Adds an error naming <c>image</c> when it is unknown (and not already refused by the spec's rules).</summary>
    public void Validate(string image, ValidationErrors errors)
    {
        if (executor.Isolates && !errors.ToDictionary().ContainsKey("image") && images.Find(image) is null)
        {
            errors.Add("image", $"no image '{(image.Length <= 128 ? image : image[..128] + "…")}' (GET /images lists them; POST /images imports one)");
        }
    }
}
