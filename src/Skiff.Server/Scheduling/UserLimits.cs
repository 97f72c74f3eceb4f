using Microsoft.Extensions.Options;
using Skiff.Server.Hosting;

namespace Skiff.Server.Scheduling;

/// <summary>
/// How many attempts of one user may run at once on this server; 0 or less means no limit. Asked under the
/// dispatch lock on every take, so an implementation answers from memory. When a user's answer grows while
/// they are at their old limit, call <see cref="DispatchQueue.LimitChanged"/> so their tasks are looked at again.
/// </summary>
internal interface IUserLimits
{
    int MaxRunning(string userId);
}

/// <summary>The server-wide default (<see cref="SkiffOptions.MaxRunningPerUser"/>) for every user.</summary>
internal sealed class DefaultUserLimits(IOptions<SkiffOptions> options) : IUserLimits
{
    private readonly int _maxRunning = options.Value.MaxRunningPerUser;

    public int MaxRunning(string userId) => _maxRunning;
}
