namespace Skiff.Cli.Client;

internal sealed record CreateUserRequest(string Name, string Role, int? MaxRunning, int? MaxQueued);

internal sealed record UserDocument(string Id, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt, int? MaxRunning, int? MaxQueued);

internal sealed record UserList(IReadOnlyList<UserDocument> Items);

internal sealed record CreateKeyRequest(string Name, string? ExpiresAt);

internal sealed record KeyDocument(string Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

internal sealed record KeyList(IReadOnlyList<KeyDocument> Items);

internal sealed record CreatedKeyDocument(string Id, string Name, string Key, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);
