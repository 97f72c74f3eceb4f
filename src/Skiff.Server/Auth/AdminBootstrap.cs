using Microsoft.Extensions.Logging;
using Skiff.Server.Telemetry;
using Skiff.Storage.Contract;

namespace Skiff.Server.Auth;

/// <summary>
/// Makes sure an admin can log in. First start: create the admin user and key, keep only the key's hash,
/// write the key to DATA/admin.key (0600). SKIFF_ADMIN_KEY, when set, is registered as the admin key instead.
/// </summary>
internal sealed class AdminBootstrap(ITaskStore store, TimeProvider time, ILogger<AdminBootstrap> logger)
{
    public const string AdminUserName = "admin";
    public const string KeyFileName = "admin.key";

    public async Task EnsureAdminAsync(string dataDirectory, string? keyFromEnvironment, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var admin = await store.Keys.FindUserByNameAsync(AdminUserName, cancellationToken)
                    ?? await store.Keys.CreateUserAsync(new UserRecord("u_admin", AdminUserName, SkiffPrincipal.AdminRole, now, null), cancellationToken);
        if (!string.IsNullOrWhiteSpace(keyFromEnvironment))
        {
            var key = keyFromEnvironment.Trim();
            if (await store.Keys.FindActiveKeyAsync(ApiKeys.Hash(key), now, cancellationToken) is null)
            {
                await store.Keys.RevokeKeysAsync(admin.Id, "environment", now, cancellationToken);
                await CreateKeyAsync(admin.Id, "environment", key, cancellationToken);
            }
            Log.AdminKeyFromEnvironment(logger);
            return;
        }
        var keyFile = Path.Combine(dataDirectory, KeyFileName);
        if (File.Exists(keyFile))
        {
            var existing = (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim();
            if (await store.Keys.FindActiveKeyAsync(ApiKeys.Hash(existing), now, cancellationToken) is not null)
            {
                Log.AdminKeyWritten(logger, Path.GetFullPath(keyFile));
                return;
            }
        }
        var generated = ApiKeys.Generate();
        await CreateKeyAsync(admin.Id, "bootstrap", generated, cancellationToken);
        WriteSecretFile(keyFile, generated + "\n");
        Log.AdminKeyWritten(logger, Path.GetFullPath(keyFile));
    }

    private Task CreateKeyAsync(string userId, string name, string key, CancellationToken cancellationToken) =>
        store.Keys.CreateKeyAsync(new ApiKeyRecord(ApiKeys.NewId("k_"), userId, name, ApiKeys.PrefixOf(key),
            ApiKeys.Hash(key), time.GetUtcNow(), null, null), cancellationToken);

    /// <summary>Creates the file with mode 0600 from the start, so the key is never readable by others.</summary>
    private static void WriteSecretFile(string path, string content)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
    }
}
