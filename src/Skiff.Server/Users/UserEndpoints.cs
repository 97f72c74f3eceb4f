using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Skiff.Core.Validation;
using Skiff.Server.Api;
using Skiff.Server.Auth;
using Skiff.Storage.Contract;

namespace Skiff.Server.Users;

/// <summary>
/// /users and /users/{id}/keys. Admins manage everyone; a user may read themselves and manage their own keys.
/// Anything about another user answers 404 to a non-admin, so ids cannot be probed.
/// </summary>
internal static class UserEndpoints
{
    public static IEndpointRouteBuilder MapUserEndpoints(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/users").WithTags("Users");
        users.MapPost("/", CreateAsync).Accepts<UserRequest>("application/json").Produces<UserDocument>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict).RequireAdmin().WithSummary("Create a user (admin).");
        users.MapGet("/", ListAsync).Produces<UserListDocument>().RequireAdmin().WithSummary("All users, disabled ones included (admin).");
        users.MapGet("/{userId}", GetAsync).Produces<UserDocument>().ProducesProblem(StatusCodes.Status404NotFound);
        users.MapDelete("/{userId}", DisableAsync).Produces<UserDocument>().RequireAdmin()
            .WithSummary("Disable a user: their keys stop working; ?cancelTasks=true also cancels their unfinished tasks (admin).");
        users.MapPut("/{userId}/quotas", SetQuotasAsync).Accepts<QuotaRequest>("application/json").Produces<UserDocument>().RequireAdmin()
            .WithSummary("Set the user's quota overrides; null means the server's default (admin).");
        users.MapPost("/{userId}/keys", CreateKeyAsync).Accepts<KeyRequest>("application/json").Produces<CreatedKeyDocument>(StatusCodes.Status201Created)
            .RequireWriter().WithSummary("Create an API key; the key is shown in this answer only.");
        users.MapGet("/{userId}/keys", ListKeysAsync).Produces<KeyListDocument>().WithSummary("The user's keys, without secret material.");
        users.MapDelete("/{userId}/keys/{keyId}", RevokeKeyAsync).Produces(StatusCodes.Status204NoContent).RequireWriter()
            .WithSummary("Revoke a key: the very next request with it is refused.");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, UserService service)
    {
        var (body, problem) = await JsonBody.ReadAsync(context.Request, ApiJson.Default.UserRequest);
        if (problem is not null)
        {
            return problem;
        }
        var (user, errors) = await service.CreateAsync(body!, context.RequestAborted);
        if (user is null)
        {
            return errors.IsValid
                ? Problems.Status(StatusCodes.Status409Conflict, "Conflict", $"name: a user named '{body!.Name}' already exists")
                : Problems.Validation(errors);
        }
        return TypedResults.Created($"/users/{user.Id}", UserDocument.From(user));
    }

    private static async Task<IResult> ListAsync(HttpContext context, ITaskStore store) =>
        TypedResults.Ok(new UserListDocument((await store.Keys.ListUsersAsync(context.RequestAborted)).Select(UserDocument.From).ToList()));

    private static async Task<IResult> GetAsync(string userId, HttpContext context, ITaskStore store) =>
        await VisibleUserAsync(userId, context, store) is { } user ? TypedResults.Ok(UserDocument.From(user)) : NotFound(userId);

    private static async Task<IResult> DisableAsync(string userId, HttpContext context, UserService service)
    {
        var caller = context.GetPrincipal();
        if (userId == caller.UserId)
        {
            return Problems.Status(StatusCodes.Status409Conflict, "Conflict", "userId: you cannot disable yourself; another admin can");
        }
        var cancelTasks = string.Equals(context.Request.Query["cancelTasks"], "true", StringComparison.OrdinalIgnoreCase);
        var user = await service.DisableAsync(userId, caller, cancelTasks, context.RequestAborted);
        return user is null ? NotFound(userId) : TypedResults.Ok(UserDocument.From(user));
    }

    private static async Task<IResult> SetQuotasAsync(string userId, HttpContext context, UserService service)
    {
        var (body, problem) = await JsonBody.ReadAsync(context.Request, ApiJson.Default.QuotaRequest);
        if (problem is not null)
        {
            return problem;
        }
        var errors = new ValidationErrors();
        UserService.ValidateQuotas(body!.MaxRunning, body.MaxQueued, errors);
        if (!errors.IsValid)
        {
            return Problems.Validation(errors);
        }
        var user = await service.SetQuotasAsync(userId, body, context.RequestAborted);
        return user is null ? NotFound(userId) : TypedResults.Ok(UserDocument.From(user));
    }

    private static async Task<IResult> CreateKeyAsync(string userId, HttpContext context, UserService service, ITaskStore store)
    {
        if (await VisibleUserAsync(userId, context, store) is not { DisabledAt: null })
        {
            return NotFound(userId);
        }
        var (body, problem) = await JsonBody.ReadAsync(context.Request, ApiJson.Default.KeyRequest);
        if (problem is not null)
        {
            return problem;
        }
        var (key, errors) = await service.CreateKeyAsync(userId, body!, context.RequestAborted);
        return key is null ? Problems.Validation(errors) : TypedResults.Created($"/users/{userId}/keys/{key.Id}", key);
    }

    private static async Task<IResult> ListKeysAsync(string userId, HttpContext context, ITaskStore store)
    {
        if (await VisibleUserAsync(userId, context, store) is null)
        {
            return NotFound(userId);
        }
        var keys = await store.Keys.ListKeysAsync(userId, context.RequestAborted);
        return TypedResults.Ok(new KeyListDocument(keys.Select(KeyDocument.From).ToList()));
    }

    private static async Task<IResult> RevokeKeyAsync(string userId, string keyId, HttpContext context, UserService service, ITaskStore store)
    {
        if (await VisibleUserAsync(userId, context, store) is null)
        {
            return NotFound(userId);
        }
        return await service.RevokeKeyAsync(userId, keyId, context.RequestAborted)
            ? TypedResults.NoContent()
            : Problems.NotFound($"keyId: user {Problems.Shorten(userId)} has no key '{Problems.Shorten(keyId)}'");
    }

    /// <summary>The user, when the caller may see them: admins see everyone, others only themselves.</summary>
    private static async Task<UserRecord?> VisibleUserAsync(string userId, HttpContext context, ITaskStore store)
    {
        var caller = context.GetPrincipal();
        if (!caller.IsAdmin && userId != caller.UserId)
        {
            return null;
        }
        return userId.Length > 64 ? null : await store.Keys.GetUserAsync(userId, context.RequestAborted);
    }

    private static IResult NotFound(string userId) => Problems.NotFound($"userId: no user '{Problems.Shorten(userId)}'");
}
