using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Runtime.Containers;
using Skiff.Runtime.Execution;
using Skiff.Server.Api;
using Skiff.Server.Audit;
using Skiff.Server.Auth;
using Skiff.Server.Hosting;
using Skiff.Server.Images;
using Skiff.Server.Scheduling;
using Skiff.Server.Secrets;
using Skiff.Server.Quotas;
using Skiff.Server.Telemetry;
using Skiff.Server.Transport;
using Skiff.Server.Users;
using Skiff.Storage.Contract;
using Skiff.Storage.Sqlite;

namespace Skiff.Server;

/// <summary>Entry point of the server role (called by <c>skiff server</c>).</summary>
public static class SkiffServer
{
    /// <summary>The executor that runs plain processes: chosen only by name, never by default.</summary>
    public const string ProcessExecutorName = "process";

    private const long MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>Runs until SIGTERM/SIGINT or <paramref name="cancellationToken"/>; returns the process exit code.</summary>
    public static async Task<int> RunAsync(ServerOptions options, CancellationToken cancellationToken)
    {
        WebApplication app;
        try
        {
            app = await StartAsync(options, null, cancellationToken);
        }
        catch (StartupException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message);
            return 1;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("error: invalid setting: " + string.Join("; ", ex.Failures));
            return 1;
        }
        catch (IOException ex) when (ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            await Console.Error.WriteLineAsync($"error: cannot listen on {options.Urls}: the address is already in use");
            return 1;
        }
        await using (app)
        {
            await app.WaitForShutdownAsync(cancellationToken);
        }
        return 0;
    }

    /// <summary>Builds and starts the server; the caller owns (and disposes) the returned app.</summary>
    internal static async Task<WebApplication> StartAsync(ServerOptions options, IDictionary<string, string?>? settings, CancellationToken cancellationToken)
    {
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        var dataLock = DataDirectoryLock.Acquire(dataDirectory);
        try
        {
            var app = Build(options, dataDirectory, settings);
            app.Lifetime.ApplicationStopped.Register(dataLock.Dispose);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch
            {
                // Hosted services may have started (store, loops): stop them before the lock is released.
                await app.DisposeAsync();
                throw;
            }
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Skiff");
            var executor = app.Services.GetRequiredService<ITaskExecutor>();
            Log.Listening(logger, string.Join(", ", BoundAddresses(app)), executor.Name,
                app.Services.GetRequiredService<IOptions<SkiffOptions>>().Value.MaxWorkers, dataDirectory);
            return app;
        }
        catch
        {
            dataLock.Dispose();
            throw;
        }
    }

    /// <summary>The addresses Kestrel really bound (port 0 resolved).</summary>
    internal static IReadOnlyList<string> BoundAddresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    private static WebApplication Build(ServerOptions options, string dataDirectory, IDictionary<string, string?>? settings)
    {
        var certificate = ServerTls.Load(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        var configuration = new Dictionary<string, string?>
        {
            [$"{SkiffOptions.Section}:{nameof(SkiffOptions.DataDirectory)}"] = dataDirectory,
            [$"{SkiffOptions.Section}:{nameof(SkiffOptions.Executor)}"] = options.Executor,
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",

            // The host logs a failed start ("Hosting failed to start", e.g. the port is taken) with the whole
            // stack trace; RunAsync reports those as one "error:" line, which is all a user should see.
            ["Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host"] = "Critical",
        };
        if (options.WarmPool is { } warmPool)
        {
            configuration[$"{SkiffOptions.Section}:{nameof(SkiffOptions.WarmPool)}"] = warmPool.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (options.MaxWorkers is { } maxWorkers)
        {
            configuration[$"{SkiffOptions.Section}:{nameof(SkiffOptions.MaxWorkers)}"] = maxWorkers.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        for (var i = 0; i < (options.SkiffCommand?.Count ?? 0); i++)
        {
            configuration[$"{SkiffOptions.Section}:{nameof(SkiffOptions.SkiffCommand)}:{i}"] = options.SkiffCommand![i];
        }
        for (var i = 0; i < (options.CorsOrigins?.Count ?? 0); i++)
        {
            configuration[$"{SkiffOptions.Section}:{nameof(SkiffOptions.CorsOrigins)}:{i}"] = options.CorsOrigins![i];
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        builder.WebHost.UseUrls(options.Urls);
        if (certificate is not null)
        {
            // The slim builder leaves Kestrel's HTTPS support out unless asked for.
            builder.WebHost.UseKestrelHttpsConfiguration();
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 100;
            if (certificate is not null)
            {
                kestrel.ConfigureHttpsDefaults(https =>
                {
                    https.ServerCertificate = certificate.Certificate;
                    https.ServerCertificateChain = certificate.Intermediates;
                });
            }
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
        builder.Services.AddSkiffServer(builder.Configuration);
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // Framework-made problems (routing, content negotiation) get a detail too, like ours.
            var http = context.HttpContext;
            context.ProblemDetails.Detail ??= context.ProblemDetails.Status switch
            {
                StatusCodes.Status404NotFound => $"no endpoint {http.Request.Method} {http.Request.Path}",
                StatusCodes.Status405MethodNotAllowed => $"{http.Request.Path} does not accept {http.Request.Method}",
                StatusCodes.Status415UnsupportedMediaType => "body: must be JSON, sent with Content-Type: application/json",
                _ => null,
            };
        });
        builder.Services.AddOpenApi();
        builder.Services.AddSkiffCors();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJson.Default));

        var app = builder.Build();
        // The exporter only sees measurements made after it starts listening; created lazily by the first
        // scrape, it would miss every task and request before that scrape.
        app.Services.GetRequiredService<PrometheusExporter>();
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Before authentication: a browser's preflight carries no key, and is answered here.
        app.UseCors();
        // Before authentication, so refused calls (401) are audited too.
        app.UseMiddleware<AuditMiddleware>();
        app.UseMiddleware<ApiKeyMiddleware>();
        // After authentication: the submission rate is per user.
        app.UseRateLimiter();
        app.MapOpenApi();
        app.MapOperationsEndpoints();
        app.MapTaskEndpoints();
        app.MapSecretEndpoints();
        app.MapAuditEndpoints();
        app.MapUserEndpoints();
        app.MapImageEndpoints();
        return app;
    }

    /// <summary>Registers the server's parts; each with TryAdd so tests and hosts can replace one.</summary>
    internal static IServiceCollection AddSkiffServer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SkiffOptions>().BindConfiguration(SkiffOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITaskStore>(sp =>
        {
            var path = Path.Combine(sp.GetRequiredService<IOptions<SkiffOptions>>().Value.DataDirectory, "skiff.db");
            var store = SqliteTaskStore.Open(path);
            Log.StoreOpened(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Skiff"), store.Path);
            return store;
        });
        services.TryAddSingleton<ITaskExecutor>(sp => CreateExecutor(sp.GetRequiredService<IOptions<SkiffOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Skiff"), sp));
        services.TryAddSingleton<UserQuotas>();
        services.TryAddSingleton<IUserLimits>(sp => sp.GetRequiredService<UserQuotas>());
        services.AddSubmitRateLimiting();
        services.TryAddSingleton(sp => new DispatchQueue(sp.GetRequiredService<IOptions<SkiffOptions>>().Value.StarvationAge,
            sp.GetRequiredService<IUserLimits>()));
        services.TryAddSingleton<LogNotifier>();
        services.TryAddSingleton<SkiffMetrics>();
        services.TryAddSingleton<AttemptRunner>();
        services.TryAddSingleton<EmbeddedWorker>();
        services.TryAddSingleton<LeaseMonitor>();
        services.TryAddSingleton<RetentionJob>();
        services.TryAddSingleton<TaskService>();
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<AdminBootstrap>();
        services.TryAddSingleton<AuditQueue>();
        services.TryAddSingleton<UserService>();
        services.TryAddSingleton(sp =>
        {
            var metrics = sp.GetRequiredService<SkiffMetrics>();
            RegisterGauges(metrics, sp);
            return new PrometheusExporter([SkiffMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"]);
        });
        services.AddSkiffSecrets();
        services.AddSkiffImages();
        services.AddHostedService<AdminBootstrapService>();
        services.AddHostedService<SkiffBackgroundService>();
        return services;
    }

    /// <summary>
    /// "auto" (the default) and "runc" isolate every attempt in a runc container and refuse to start where that is
    /// impossible; only an explicit "process" runs plain processes without isolation, and says so loudly.
    /// </summary>
    private static ITaskExecutor CreateExecutor(SkiffOptions options, TimeProvider time, ILogger logger, IServiceProvider services)
    {
        if (options.Executor != ProcessExecutorName)
        {
            if (!RuncExecutor.IsAvailable(options.RuncPath, out var reason))
            {
                throw new StartupException(
                    $"cannot isolate tasks: {reason}. Install runc with 'apt-get install runc busybox-static tini' and run as root, "
                    + "or start with --executor process to run tasks as plain processes without isolation");
            }
            var runc = new RuncOptions
            {
                RuncPath = options.RuncPath,
                WarmPoolSize = options.WarmPool,
                StateRoot = Path.Combine(options.DataDirectory, "runc"),
                ImagesDirectory = Path.Combine(options.DataDirectory, "images"),
                Images = services.GetRequiredService<Skiff.Runtime.Images.ImageStore>(),
                TimeProvider = time,
            };
            return new RuncExecutor(runc);
        }
        var executor = new ProcessExecutor(time) { RecordDirectory = Path.Combine(options.DataDirectory, "processes") };
        Log.NoIsolation(logger, executor.Name);
        return executor;
    }

    private static void RegisterGauges(SkiffMetrics metrics, IServiceProvider services)
    {
        var queue = services.GetRequiredService<DispatchQueue>();
        var worker = services.GetRequiredService<EmbeddedWorker>();
        metrics.ObserveGauge<int>("skiff.queue.depth", "{task}", "Tasks waiting, by queue.", () =>
        {
            var (standard, priority) = queue.LaneCounts;
            return
            [
                new(standard, new KeyValuePair<string, object?>("queue", "standard")),
                new System.Diagnostics.Metrics.Measurement<int>(priority, new KeyValuePair<string, object?>("queue", "priority")),
            ];
        });
        metrics.ObserveGauge<int>("skiff.tasks.running", "{task}", "Attempts running on this server.",
            () => [new System.Diagnostics.Metrics.Measurement<int>(worker.RunningCount)]);
        metrics.ObserveGauge<int>("skiff.workers", "{slot}", "Worker slots: current, desired and max.", () =>
        {
            var counts = worker.Counts;
            return
            [
                new System.Diagnostics.Metrics.Measurement<int>(counts.Current, new KeyValuePair<string, object?>("kind", "current")),
                new(counts.Desired, new KeyValuePair<string, object?>("kind", "desired")),
                new(counts.Max, new KeyValuePair<string, object?>("kind", "max")),
            ];
        });
    }
}

/// <summary>A start-up problem the user can fix, reported as one line.</summary>
internal sealed class StartupException(string message) : Exception(message);

/// <summary>Holds an exclusive lock on the data directory so two servers never share one store.</summary>
internal sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _stream;

    private DataDirectoryLock(FileStream stream) => _stream = stream;

    public static DataDirectoryLock Acquire(string dataDirectory)
    {
        try
        {
            Directory.CreateDirectory(dataDirectory);
            return new DataDirectoryLock(new FileStream(Path.Combine(dataDirectory, "server.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex)
        {
            throw new StartupException($"another Skiff server is already using the data directory {dataDirectory} ({ex.Message})");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new StartupException($"cannot use the data directory {dataDirectory}: {ex.Message}");
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>Creates the admin key and loads the users' quotas before the API accepts requests.</summary>
internal sealed class AdminBootstrapService(AdminBootstrap bootstrap, ITaskStore store, UserQuotas quotas, IOptions<SkiffOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await bootstrap.EnsureAdminAsync(options.Value.DataDirectory, Environment.GetEnvironmentVariable("SKIFF_ADMIN_KEY"), cancellationToken);
        quotas.Load(await store.Keys.ListUsersAsync(cancellationToken));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
