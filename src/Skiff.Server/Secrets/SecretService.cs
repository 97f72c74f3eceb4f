using Microsoft.Extensions.Logging;
using Skiff.Core.Tasks;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Secrets;

/// <summary>
/// What Skiff does with secrets, independent of HTTP. A user reads their own secrets and the shared ones; their own
/// shadows a shared one of the same name. Values are sealed by <see cref="SecretKeyRing"/> before they reach the store
/// and opened only when an attempt starts, for that attempt's environment.
/// </summary>
internal sealed class SecretService(ITaskStore store, SecretKeyRing keys, TimeProvider time, ILogger<SecretService> logger) : IDisposable
{
    private const int RotationBatch = 100;
    private readonly SemaphoreSlim _rotation = new(1, 1);

    public Task<(SecretInfo Secret, bool Created)> PutAsync(string owner, string name, string value, CancellationToken cancellationToken) =>
        store.Secrets.PutAsync(owner, name, time.GetUtcNow(), version => keys.Seal(owner, name, version, value), cancellationToken);

    /// <summary>The user's own secrets, then the shared ones; no values.</summary>
    public async Task<IReadOnlyList<SecretInfo>> ListAsync(string userId, CancellationToken cancellationToken) =>
        [.. (await store.Secrets.ListAsync([userId, SecretInfo.SharedOwner], cancellationToken)).OrderBy(s => s.IsShared).ThenBy(s => s.Name, StringComparer.Ordinal)];

    public Task<bool> DeleteAsync(string owner, string name, CancellationToken cancellationToken) =>
        store.Secrets.DeleteAsync(owner, name, cancellationToken);

    /// <summary>The references of <paramref name="spec"/> (variable, secret name) that <paramref name="userId"/> may not read.</summary>
    public async Task<IReadOnlyList<KeyValuePair<string, string>>> FindUnreadableAsync(string userId, TaskSpec spec, CancellationToken cancellationToken)
    {
        var unreadable = new List<KeyValuePair<string, string>>();
        foreach (var reference in spec.Secrets.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            if (await FindReadableAsync(userId, reference.Value, cancellationToken) is null)
            {
                unreadable.Add(reference);
            }
        }
        return unreadable;
    }

    /// <summary>
    /// The environment of an attempt of <paramref name="task"/>: its <c>env</c> plus the values of its secrets, read
    /// now with the rights of the task's user, and the mask that hides those values in what is kept of the attempt.
    /// </summary>
    /// <exception cref="SecretUnavailableException">A secret was deleted since the task was submitted, or cannot be decrypted.</exception>
    public async Task<AttemptSecrets> ResolveAsync(TaskRecord task, CancellationToken cancellationToken)
    {
        if (task.Spec.Secrets.Count == 0)
        {
            return new AttemptSecrets(task.Spec.Env, SecretMask.None);
        }
        var environment = new Dictionary<string, string>(task.Spec.Env, StringComparer.Ordinal);
        var values = new List<string>(task.Spec.Secrets.Count);
        foreach (var (variable, name) in task.Spec.Secrets)
        {
            var stored = await FindReadableAsync(task.UserId, name, cancellationToken)
                ?? throw new SecretUnavailableException($"secret '{name}' (for {variable}) no longer exists or the task's user may not read it");
            try
            {
                values.Add(environment[variable] = keys.Open(stored));
            }
            catch (SecretUnreadableException e)
            {
                Log.SecretUnreadable(logger, e, task.TaskId);
                throw new SecretUnavailableException($"secret '{name}' (for {variable}) cannot be decrypted; the server log says why");
            }
        }
        return new AttemptSecrets(environment, new SecretMask(values));
    }

    /// <summary>
    /// Seals every stored value with a new key, then forgets the old keys. The new key is saved before it seals
    /// anything; an old key is dropped only once no stored value needs it, so a crash at any step loses nothing.
    /// </summary>
    /// <exception cref="SecretUnreadableException">A stored value cannot be opened: rotation stops, every key is kept.</exception>
    public async Task<KeyRotation> RotateKeyAsync(CancellationToken cancellationToken)
    {
        await _rotation.WaitAsync(cancellationToken);
        try
        {
            var active = keys.AddActiveKey();
            var resealed = 0;
            while (true)
            {
                var batch = await store.Secrets.ListSealedWithOtherKeysAsync(active, RotationBatch, cancellationToken);
                if (batch.Count == 0)
                {
                    break;
                }
                foreach (var stored in batch)
                {
                    var value = keys.Open(stored);
                    // False: rewritten meanwhile, with the new key already.
                    if (await store.Secrets.ResealAsync(stored, keys.Seal(stored.Info.Owner, stored.Info.Name, stored.Info.Version, value), cancellationToken))
                    {
                        resealed++;
                    }
                }
            }
            // A write that sealed with the old key just before the switch may commit after the loop: keep the old
            // keys then (the next rotation retires them) rather than lose that value.
            var stillNeeded = (await store.Secrets.KeyIdsInUseAsync(cancellationToken)).Where(id => id != active).ToList();
            var removed = stillNeeded.Count == 0 ? keys.RemoveInactiveKeys() : [];
            Log.SecretKeyRotated(logger, active, resealed, removed.Count, keys.Path);
            return new KeyRotation(active, resealed, removed, keys.KeyIds.Where(id => id != active).ToList());
        }
        finally
        {
            _rotation.Release();
        }
    }

    public void Dispose() => _rotation.Dispose();

    private async Task<StoredSecret?> FindReadableAsync(string userId, string name, CancellationToken cancellationToken) =>
        await store.Secrets.GetAsync(userId, name, cancellationToken) ?? await store.Secrets.GetAsync(SecretInfo.SharedOwner, name, cancellationToken);
}

/// <summary>
/// An attempt's environment with its secret values, and the mask for its output. Lives only while the attempt starts:
/// never stored, never logged (a class, not a record, so no generated ToString lists its members).
/// </summary>
internal sealed class AttemptSecrets(IReadOnlyDictionary<string, string> environment, SecretMask mask)
{
    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public SecretMask Mask { get; } = mask;
}

internal sealed record KeyRotation(string ActiveKeyId, int Resealed, IReadOnlyList<string> RemovedKeyIds, IReadOnlyList<string> KeptKeyIds);

/// <summary>An attempt cannot have a secret it names; the message names the secret and the variable, never a value.</summary>
internal sealed class SecretUnavailableException(string message) : Exception(message);
