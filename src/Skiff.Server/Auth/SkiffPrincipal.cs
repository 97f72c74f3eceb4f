namespace Skiff.Server.Auth;

/// <summary>Who is calling: resolved from the API key on every request.</summary>
internal sealed record SkiffPrincipal(string UserId, string UserName, string Role, string KeyId)
{
    public const string AdminRole = "admin";
    public const string UserRole = "user";

    /// <summary>Reads their own things and changes nothing.</summary>
    public const string ViewerRole = "viewer";

    public static readonly IReadOnlyList<string> Roles = [AdminRole, UserRole, ViewerRole];

    public bool IsAdmin => Role == AdminRole;

    /// <summary>Whether this caller may change anything at all (viewers may not).</summary>
    public bool CanWrite => Role != ViewerRole;

    public bool CanSee(string ownerUserId) => IsAdmin || ownerUserId == UserId;
}
