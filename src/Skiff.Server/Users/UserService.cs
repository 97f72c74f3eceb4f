using System.Globalization;
using System.Text.RegularExpressions;
using Skiff.Core.Tasks;
using Skiff.Core.Validation;
using Skiff.Server.Auth;
using Skiff.Server.Quotas;
using Skiff.Server.Scheduling;
using Skiff.Storage.Contract;

namespace Skiff.Server.Users;

/// <summary>
/// Users and their API keys. Every change that can end someone's access (disable, revoke) drops the
/// authenticator's cache, so the very next request with that key is refused.
/// </summary>
internal sealed partial class UserService(
    ITaskStore store, ApiKeyAuthenticator authenticator, TaskService tasks, UserQuotas quotas, DispatchQueue queue, TimeProvider time)
{
    public const int MaxQuota = 1_000_000;
    private const int MaxKeyNameLength = 64;

    /// <summary>Creates the user, or says what is wrong: invalid fields, or (with no errors) a name already taken.</summary>
    public async Task<(UserRecord? User, ValidationErrors Errors)> CreateAsync(UserRequest request, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrEmpty(request.Name))
        {
            errors.Add("name", "is required");
        }
        else if (!UserName().IsMatch(request.Name))
        {
            errors.Add("name", "must be 1-64 characters: letters, digits, '.', '_', '-' or '@', starting with a letter or digit");
        }
        if (string.IsNullOrEmpty(request.Role))
        {
            errors.Add("role", $"is required: one of {string.Join(", ", SkiffPrincipal.Roles)}");
        }
        else if (!SkiffPrincipal.Roles.Contains(request.Role))
        {
            errors.Add("role", $"must be one of {string.Join(", ", SkiffPrincipal.Roles)}");
        }
        ValidateQuotas(request.MaxRunning, request.MaxQueued, errors);
        if (!errors.IsValid)
        {
            return (null, errors);
        }
        var user = new UserRecord(ApiKeys.NewId("u_"), request.Name!, request.Role!, time.GetUtcNow(), null, request.MaxRunning, request.MaxQueued);
        var created = await store.Keys.TryCreateUserAsync(user, cancellationToken);
        if (created is not null)
        {
            quotas.Update(created);
        }
        return (created, errors);
    }

    public static void ValidateQuotas(int? maxRunning, int? maxQueued, ValidationErrors errors)
    {
        if (maxRunning is < 1 or > MaxQuota)
        {
            errors.Add("maxRunning", $"must be between 1 and {MaxQuota}, or null for the server's default");
        }
        if (maxQueued is < 1 or > MaxQuota)
        {
            errors.Add("maxQueued", $"must be between 1 and {MaxQuota}, or null for the server's default");
        }
    }

    public async Task<UserRecord?> SetQuotasAsync(string userId, QuotaRequest request, CancellationToken cancellationToken)
    {
        if (!await store.Keys.SetQuotasAsync(userId, request.MaxRunning, request.MaxQueued, cancellationToken)
            || await store.Keys.GetUserAsync(userId, cancellationToken) is not { } user)
        {
            return null;
        }
        quotas.Update(user);
        // A raised running limit lets their waiting tasks start now.
        queue.LimitChanged(userId);
        return user;
    }

    /// <summary>Disables the user (their keys stop working at once); with <paramref name="cancelTasks"/>, also cancels their unfinished tasks.</summary>
    public async Task<UserRecord?> DisableAsync(string userId, SkiffPrincipal caller, bool cancelTasks, CancellationToken cancellationToken)
    {
        if (!await store.Keys.DisableUserAsync(userId, time.GetUtcNow(), cancellationToken))
        {
            return null;
        }
        authenticator.Invalidate();
        if (cancelTasks)
        {
            foreach (var state in new[] { TaskState.Queued, TaskState.Retrying, TaskState.Running })
            {
                await CancelAllAsync(userId, state, caller, cancellationToken);
            }
        }
        return await store.Keys.GetUserAsync(userId, cancellationToken);
    }

    private async Task CancelAllAsync(string userId, TaskState state, SkiffPrincipal caller, CancellationToken cancellationToken)
    {
        // Cancelling moves tasks out of the listed state, so the first page is read again until it is empty.
        while (true)
        {
            var page = await store.ListTasksAsync(new TaskQuery(state, userId, null, null, 500), cancellationToken);
            if (page.Items.Count == 0)
            {
                return;
            }
            var progressed = false;
            foreach (var task in page.Items)
            {
                var outcome = await tasks.CancelAsync(task.TaskId, caller, cancellationToken);
                progressed |= outcome.Result is CancelResult.Cancelled || outcome.Task?.Status != state;
            }
            if (!progressed)
            {
                return; // running tasks still stopping: they end on their own, cancelled.
            }
        }
    }

    public async Task<(CreatedKeyDocument? Key, ValidationErrors Errors)> CreateKeyAsync(string userId, KeyRequest request, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        var now = time.GetUtcNow();
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            errors.Add("name", "is required");
        }
        else if (request.Name.Length > MaxKeyNameLength || request.Name.Any(char.IsControl))
        {
            errors.Add("name", $"must be at most {MaxKeyNameLength} characters, without control characters");
        }
        DateTimeOffset? expiresAt = null;
        if (request.ExpiresAt is { } text)
        {
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                errors.Add("expiresAt", "must be an ISO 8601 time, e.g. 2027-01-31T00:00:00Z");
            }
            else if (parsed <= now)
            {
                errors.Add("expiresAt", "must be in the future");
            }
            else
            {
                expiresAt = parsed.ToUniversalTime();
            }
        }
        if (!errors.IsValid)
        {
            return (null, errors);
        }
        var secret = ApiKeys.Generate();
        var key = new ApiKeyRecord(ApiKeys.NewId("k_"), userId, request.Name!, ApiKeys.PrefixOf(secret), ApiKeys.Hash(secret), now, expiresAt, null);
        await store.Keys.CreateKeyAsync(key, cancellationToken);
        return (new CreatedKeyDocument(key.Id, key.Name, secret, key.Prefix, key.CreatedAt, key.ExpiresAt), errors);
    }

    public async Task<bool> RevokeKeyAsync(string userId, string keyId, CancellationToken cancellationToken)
    {
        var revoked = await store.Keys.RevokeKeyAsync(userId, keyId, time.GetUtcNow(), cancellationToken);
        if (revoked)
        {
            authenticator.Invalidate();
        }
        return revoked;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    private static partial Regex UserName();
}
