using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Skiff.Server.Hosting;
using Skiff.Storage.Contract;

namespace Skiff.Server.Secrets;

internal static class SecretServices
{
    /// <summary>Registers the key ring, the service, and the start-up step that loads the ring before any task runs.</summary>
    public static IServiceCollection AddSkiffSecrets(this IServiceCollection services)
    {
        services.TryAddSingleton<SecretKeyRing>();
        services.TryAddSingleton<SecretService>();
        services.AddHostedService<SecretKeyRingLoader>();
        return services;
    }
}

/// <summary>Loads (or creates) DATA/secrets.key at start; registered before the worker, so no attempt starts without it.</summary>
internal sealed class SecretKeyRingLoader(SecretKeyRing keys, ITaskStore store, IOptions<SkiffOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => keys.LoadAsync(options.Value.DataDirectory, store.Secrets, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
