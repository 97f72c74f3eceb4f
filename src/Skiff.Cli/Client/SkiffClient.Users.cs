using System.Net.Http.Json;

namespace Skiff.Cli.Client;

/// <summary>/users and /users/{id}/keys.</summary>
internal sealed partial class SkiffClient
{
    public Task<UserDocument> CreateUserAsync(CreateUserRequest request, CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Post, "users") { Content = JsonContent.Create(request, SkiffJsonContext.Default.CreateUserRequest) },
            SkiffJsonContext.Default.UserDocument, cancellationToken);

    public Task<UserList> ListUsersAsync(CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Get, "users"), SkiffJsonContext.Default.UserList, cancellationToken);

    public Task<UserDocument> DisableUserAsync(string userId, bool cancelTasks, CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Delete, UserPath(userId) + (cancelTasks ? "?cancelTasks=true" : "")),
            SkiffJsonContext.Default.UserDocument, cancellationToken);

    public Task<CreatedKeyDocument> CreateKeyAsync(string userId, CreateKeyRequest request, CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Post, UserPath(userId) + "/keys") { Content = JsonContent.Create(request, SkiffJsonContext.Default.CreateKeyRequest) },
            SkiffJsonContext.Default.CreatedKeyDocument, cancellationToken);

    public Task<KeyList> ListKeysAsync(string userId, CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Get, UserPath(userId) + "/keys"), SkiffJsonContext.Default.KeyList, cancellationToken);

    public async Task RevokeKeyAsync(string userId, string keyId, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Delete, UserPath(userId) + "/keys/" + Uri.EscapeDataString(keyId));
        using var response = await SendAsync(message, allowNotFound: false, cancellationToken);
    }

    /// <summary>
    /// A user id as given, or the id of the user with that name (ids start with "u_"): people remember names.
    /// Resolving a name lists users, which only admins may do; others pass their id.
    /// </summary>
    public async Task<string> ResolveUserIdAsync(string idOrName, CancellationToken cancellationToken)
    {
        if (idOrName.StartsWith("u_", StringComparison.Ordinal))
        {
            return idOrName;
        }
        var users = await ListUsersAsync(cancellationToken);
        return users.Items.FirstOrDefault(u => u.Name == idOrName)?.Id ?? throw new CliException($"no user named '{idOrName}'");
    }

    private static string UserPath(string userId) => "users/" + Uri.EscapeDataString(userId);
}
