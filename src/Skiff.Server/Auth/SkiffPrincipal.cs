namespace Skiff.Server.Auth;

/// <summary>Who is calling: resolved from the API key on every request.</summary>
internal sealed record SkiffPrincipal(string UserId, string UserName, string Role, string KeyId)
{
    public const string AdminRole = "admin";

    public bool IsAdmin => Role == AdminRole;

    public bool CanSee(string ownerUserId) => IsAdmin || ownerUserId == UserId;
}
