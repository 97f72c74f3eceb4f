using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Skiff.Server.Auth;
using Skiff.Server.Hosting;
using Skiff.Server.Scheduling;
using Skiff.Storage.Contract;

namespace Skiff.Server.Quotas;

/// <summary>
/// Per-user quotas: a user's own override when set, else the server's default. Admins run the server, so the
/// defaults do not bind them (an override still does). Kept in memory, loaded at start and updated on every
/// change, because the dispatcher asks for every task it starts.
/// </summary>
internal sealed class UserQuotas(IOptions<SkiffOptions> options) : IUserLimits
{
    private readonly ConcurrentDictionary<string, UserRecord> _users = new(StringComparer.Ordinal);

    public void Load(IEnumerable<UserRecord> users)
    {
        foreach (var user in users)
        {
            _users[user.Id] = user;
        }
    }

    public void Update(UserRecord user) => _users[user.Id] = user;

    /// <summary>How many of the user's tasks may run at once; 0 = no limit.</summary>
    public int MaxRunning(string userId) => Resolve(userId, u => u.MaxRunning, options.Value.MaxRunningPerUser);

    /// <summary>How many of the user's tasks may wait at once; 0 = no limit.</summary>
    public int MaxQueued(string userId) => Resolve(userId, u => u.MaxQueued, options.Value.MaxQueuedPerUser);

    private int Resolve(string userId, Func<UserRecord, int?> overrideOf, int serverDefault)
    {
        if (!_users.TryGetValue(userId, out var user))
        {
            return serverDefault;
        }
        return overrideOf(user) ?? (user.Role == SkiffPrincipal.AdminRole ? 0 : serverDefault);
    }
}
