using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Runtime.Images;
using Skiff.Server.Hosting;
using Skiff.Server.Telemetry;

namespace Skiff.Server.Images;

internal static class ImageServices
{
    /// <summary>Registers the image store (&lt;data&gt;/images) and the start-up step that makes the built-in images.</summary>
    public static IServiceCollection AddSkiffImages(this IServiceCollection services)
    {
        services.AddOptions<ImageOptions>().BindConfiguration(ImageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(sp =>
        {
            var images = sp.GetRequiredService<IOptions<ImageOptions>>().Value;
            return new ImageStore(new ImageStoreOptions
            {
                Directory = Path.Combine(sp.GetRequiredService<IOptions<SkiffOptions>>().Value.DataDirectory, "images"),
                MaxArchiveBytes = images.MaxArchiveMb * 1024 * 1024,
                MaxUnpackedBytes = images.MaxUnpackedMb * 1024 * 1024,
                KeepVersions = images.KeepVersions,
                TimeProvider = sp.GetRequiredService<TimeProvider>(),
            });
        });
        services.TryAddSingleton<SubmitImageCheck>();
        services.AddHostedService<ImageStoreInitializer>();
        return services;
    }
}

/// <summary>Cleans up after a crash and makes the built-in images before the worker starts any task.</summary>
internal sealed class ImageStoreInitializer(ImageStore store, ILoggerFactory loggers) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("Skiff");
        foreach (var problem in await store.InitializeAsync(cancellationToken))
        {
            Log.BuiltInImageMissing(logger, problem);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
