using System.Collections.Concurrent;
using Skiff.Storage.Contract;

namespace Skiff.Server.Auth;

/// <summary>
/// Resolves a bearer key to a principal. Positive answers are cached briefly (the hash is the cache key,
/// so the cache holds no key material); <see cref="Invalidate"/> drops them at once when a key or user changes.
/// </summary>
internal sealed class ApiKeyAuthenticator(ITaskStore store, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (SkiffPrincipal Principal, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public async ValueTask<SkiffPrincipal?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (key.Length is 0 or > 256)
        {
            return null;
        }
        var hash = ApiKeys.Hash(key);
        var cacheKey = Convert.ToHexString(hash);
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.Until > now)
        {
            return cached.Principal;
        }
        // Found by the public prefix, then the hash compared in constant time: the answer's timing says nothing
        // about how close a guess came to a real key.
        (ApiKeyRecord Key, UserRecord User)? found = null;
        foreach (var candidate in await store.Keys.FindActiveKeysByPrefixAsync(ApiKeys.PrefixOf(key), now, cancellationToken))
        {
            if (ApiKeys.HashesEqual(candidate.Key.Hash, hash))
            {
                found = candidate;
            }
        }
        if (found is not { } active)
        {
            _cache.TryRemove(cacheKey, out _);
            return null;
        }
        var principal = new SkiffPrincipal(active.User.Id, active.User.Name, active.User.Role, active.Key.Id);
        var until = now + CacheFor;
        if (active.Key.ExpiresAt is { } expires && expires < until)
        {
            until = expires;
        }
        _cache[cacheKey] = (principal, until);
        return principal;
    }

    public void Invalidate() => _cache.Clear();
}
