namespace Skiff.Server.Scheduling;

/// <summary>
/// How many attempts of one user may run at once on this server; 0 or less means no limit. Asked under the
/// dispatch lock on every take, so an implementation answers from memory. When a user's answer grows while
/// they are at their old limit, call <see cref="DispatchQueue.LimitChanged"/> so their tasks are looked at again.
/// </summary>
/// <remarks>Implemented by <c>Quotas.UserQuotas</c>: a user's override, else the server's default.</remarks>
internal interface IUserLimits
{
    int MaxRunning(string userId);
}
