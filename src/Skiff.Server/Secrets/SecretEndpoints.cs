using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Skiff.Core.Secrets;
using Skiff.Core.Tasks;
using Skiff.Core.Validation;
using Skiff.Server.Api;
using Skiff.Server.Auth;
using Skiff.Storage.Contract;

namespace Skiff.Server.Secrets;

/// <summary>
/// /secrets: values go in (PUT) and never come out. A user's secrets are theirs; admins also manage shared ones
/// (<c>?scope=shared</c>), which every user's tasks may use.
/// </summary>
internal static class SecretEndpoints
{
    private const string UserScope = "user";
    private const string SharedScope = "shared";

    public static IEndpointRouteBuilder MapSecretEndpoints(this IEndpointRouteBuilder app)
    {
        var secrets = app.MapGroup("/secrets").WithTags("Secrets");
        secrets.MapGet("/", ListAsync).Produces<SecretListDocument>().WithSummary("Your secrets and the shared ones: names and versions, never values.");
        secrets.MapPut("/{name}", PutAsync)
            .Accepts<SecretRequest>("application/json")
            .Produces<SecretDocument>(StatusCodes.Status201Created)
            .Produces<SecretDocument>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Create a secret or replace its value (?scope=shared: an admin's secret for every user).")
            .RequireWriter();
        secrets.MapDelete("/{name}", DeleteAsync)
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .RequireWriter();
        secrets.MapPost("/rotate-key", RotateKeyAsync)
            .Produces<KeyRotation>()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Seal every secret with a new master key and retire the old ones (admin).")
            .RequireAdmin();
        return app;
    }

    /// <summary>
    /// At submission: the task may use only secrets its user may read. 403 naming each secret it may not (a missing
    /// secret looks the same as another user's, so names of others' secrets cannot be probed); null when all are fine.
    /// </summary>
    public static async Task<IResult?> ForbidUnreadableAsync(TaskSpec spec, SkiffPrincipal caller, SecretService secrets, CancellationToken cancellationToken)
    {
        if (spec.Secrets.Count == 0)
        {
            return null;
        }
        var unreadable = await secrets.FindUnreadableAsync(caller.UserId, spec, cancellationToken);
        return unreadable.Count == 0
            ? null
            : Problems.Forbidden(string.Join("; ", unreadable.Select(r =>
                $"{SecretReferences.Field}.{r.Key}: secret '{r.Value}' does not exist or you may not read it (your own or a shared secret)")));
    }

    private static async Task<IResult> PutAsync(string name, HttpContext context, SecretService secrets)
    {
        var caller = context.GetPrincipal();
        var errors = new ValidationErrors();
        var shared = Scope(context, errors);
        if (shared && !caller.IsAdmin)
        {
            return Problems.Forbidden("scope: only an admin may create shared secrets");
        }
        CheckName(name, errors);
        var (body, problem) = await JsonBody.ReadAsync(context.Request, ApiJson.Default.SecretRequest);
        if (problem is not null)
        {
            return problem;
        }
        string? value = null;
        if (body!.Value is not { ValueKind: JsonValueKind.String } element)
        {
            errors.Add("value", body.Value is null or { ValueKind: JsonValueKind.Null } ? "is required: a non-empty string" : "must be a string");
        }
        else if (JsonBody.TextOf(element) is not { } text)
        {
            errors.Add("value", "is not valid text (invalid UTF-8 or a lone surrogate)");
        }
        else if (SecretNames.CheckValue(value = text) is { } valueError)
        {
            errors.Add("value", valueError);
        }
        if (!errors.IsValid)
        {
            return Problems.Validation(errors);
        }
        var (secret, created) = await secrets.PutAsync(shared ? SecretInfo.SharedOwner : caller.UserId, name, value!, context.RequestAborted);
        var document = SecretDocument.From(secret);
        return created ? TypedResults.Created((string?)null, document) : TypedResults.Ok(document);
    }

    private static async Task<IResult> ListAsync(HttpContext context, SecretService secrets)
    {
        var list = await secrets.ListAsync(context.GetPrincipal().UserId, context.RequestAborted);
        return TypedResults.Ok(new SecretListDocument(list.Select(SecretDocument.From).ToList()));
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext context, SecretService secrets)
    {
        var caller = context.GetPrincipal();
        var errors = new ValidationErrors();
        var shared = Scope(context, errors);
        if (shared && !caller.IsAdmin)
        {
            return Problems.Forbidden("scope: only an admin may delete shared secrets");
        }
        CheckName(name, errors);
        if (!errors.IsValid)
        {
            return Problems.Validation(errors);
        }
        return await secrets.DeleteAsync(shared ? SecretInfo.SharedOwner : caller.UserId, name, context.RequestAborted)
            ? TypedResults.NoContent()
            : Problems.NotFound($"name: you have no {(shared ? "shared " : "")}secret '{name}'");
    }

    private static async Task<IResult> RotateKeyAsync(HttpContext context, SecretService secrets)
    {
        try
        {
            return TypedResults.Ok(await secrets.RotateKeyAsync(context.RequestAborted));
        }
        catch (SecretUnreadableException e)
        {
            return Problems.Status(StatusCodes.Status409Conflict, "A stored secret cannot be decrypted",
                $"{e.Message}. Rotation stopped and every key was kept; delete or set that secret again, then rotate again.");
        }
    }

    /// <summary><c>?scope=user</c> (the default) or <c>?scope=shared</c>.</summary>
    private static bool Scope(HttpContext context, ValidationErrors errors)
    {
        var scope = context.Request.Query["scope"].ToString();
        if (scope is "" or UserScope)
        {
            return false;
        }
        if (scope == SharedScope)
        {
            return true;
        }
        errors.Add("scope", $"must be '{UserScope}' or '{SharedScope}'");
        return false;
    }

    private static void CheckName(string name, ValidationErrors errors)
    {
        if (!SecretNames.IsValidName(name))
        {
            errors.Add("name", $"must be {SecretNames.NameRule} (no '/' or other path characters)");
        }
    }
}

/// <summary>The body of PUT /secrets/{name}. <see cref="Value"/> is a <see cref="JsonElement"/> so a number or object is reported as "must be a string".</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record SecretRequest
{
    public JsonElement? Value { get; init; }
}

/// <summary>A secret as the API shows it: never its value.</summary>
internal sealed record SecretDocument(string Name, string Scope, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static SecretDocument From(SecretInfo secret) =>
        new(secret.Name, secret.IsShared ? "shared" : "user", secret.Version, secret.CreatedAt, secret.UpdatedAt);
}

internal sealed record SecretListDocument(IReadOnlyList<SecretDocument> Items);
