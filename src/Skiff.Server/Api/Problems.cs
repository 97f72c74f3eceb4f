using Microsoft.AspNetCore.Http;
using Skiff.Core.Validation;

namespace Skiff.Server.Api;

/// <summary>RFC 9457 problem details for every error the API returns; the detail always names the field or thing at fault.</summary>
internal static class Problems
{
    public static IResult Validation(ValidationErrors errors) =>
        TypedResults.ValidationProblem(errors.ToDictionary(), detail: errors.Summary(), title: "The request is invalid",
            type: "https://skiff.dev/problems/validation");

    public static IResult Field(string field, string message) => Validation(One(field, message));

    public static IResult NotFound(string what) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: what, type: "https://skiff.dev/problems/not-found");

    public static IResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict with the task's state", detail: detail,
            type: "https://skiff.dev/problems/conflict");

    public static IResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: detail, type: "https://skiff.dev/problems/forbidden");

    /// <summary>429: over a quota or rate; <paramref name="quota"/> names it (the caller sets Retry-After).</summary>
    public static IResult TooManyRequests(string quota, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests", detail: detail,
            type: "https://skiff.dev/problems/quota", extensions: new Dictionary<string, object?> { ["quota"] = quota });

    /// <summary>A caller's value quoted in a detail, cut at 64 characters so a hostile one cannot bloat the answer.</summary>
    public static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "…";

    public static IResult Status(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    private static ValidationErrors One(string field, string message)
    {
        var errors = new ValidationErrors();
        errors.Add(field, message);
        return errors;
    }
}
