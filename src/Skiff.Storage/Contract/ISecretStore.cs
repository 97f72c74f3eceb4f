namespace Skiff.Storage.Contract;

/// <summary>A secret's value as stored: AES-GCM output and the id of the key that made it. Never the plaintext.</summary>
public sealed record SealedSecret(string KeyId, byte[] Nonce, byte[] Ciphertext, byte[] Tag);

/// <summary>
/// What is known about a secret without its value. <see cref="Owner"/> is a user id, or <see cref="SharedOwner"/>
/// for a secret an admin shares with everyone. <see cref="Version"/> counts the writes since it was created.
/// </summary>
public sealed record SecretInfo(string Owner, string Name, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>The owner of shared secrets: '*' is never a user id.</summary>
    public const string SharedOwner = "*";

    public bool IsShared => Owner == SharedOwner;
}

public sealed record StoredSecret(SecretInfo Info, SealedSecret Sealed);

/// <summary>
/// Secrets, keyed by (owner, name). The store never sees a plaintext value: the caller seals it, bound to the
/// version the store assigns, inside the write (see <see cref="PutAsync"/>).
/// </summary>
public interface ISecretStore
{
    /// <summary>
    /// Creates the secret at version 1 or replaces its value at version + 1. <paramref name="seal"/> is called inside
    /// the write transaction with the new version, so the ciphertext can be bound to it (again, with the same
    /// version, if the transaction is retried).
    /// </summary>
    Task<(SecretInfo Secret, bool Created)> PutAsync(string owner, string name, DateTimeOffset now, Func<int, SealedSecret> seal, CancellationToken cancellationToken);

    Task<StoredSecret?> GetAsync(string owner, string name, CancellationToken cancellationToken);

    /// <summary>The secrets of these owners, by owner then name; no values.</summary>
    Task<IReadOnlyList<SecretInfo>> ListAsync(IReadOnlyCollection<string> owners, CancellationToken cancellationToken);

    /// <summary>False when there is no such secret.</summary>
    Task<bool> DeleteAsync(string owner, string name, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> secrets sealed with a key other than <paramref name="keyId"/> (for key rotation).</summary>
    Task<IReadOnlyList<StoredSecret>> ListSealedWithOtherKeysAsync(string keyId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces <paramref name="current"/>'s sealed value (same plaintext, another key) if the row is still exactly
    /// that version sealed with that key. False when it was changed or deleted meanwhile: a newer write already used
    /// the current key.
    /// </summary>
    Task<bool> ResealAsync(StoredSecret current, SealedSecret replacement, CancellationToken cancellationToken);

    /// <summary>The distinct key ids the stored values need, including those of every write begun before this call.</summary>
    Task<IReadOnlyList<string>> KeyIdsInUseAsync(CancellationToken cancellationToken);
}
