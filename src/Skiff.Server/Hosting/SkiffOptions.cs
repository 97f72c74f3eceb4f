using System.ComponentModel.DataAnnotations;

namespace Skiff.Server.Hosting;

/// <summary>Tunables of the scheduler and worker, bound from the "Skiff" configuration section.</summary>
public sealed class SkiffOptions
{
    public const string Section = "Skiff";

    [Required]
    public string DataDirectory { get; set; } = ".skiff";

    /// <summary>0 makes an API-only server that never runs tasks itself.</summary>
    [Range(0, 1024)]
    public int MaxWorkers { get; set; } = Environment.ProcessorCount;

    /// <summary>"auto" or "runc" (a runc container per attempt) or "process" (plain processes, no isolation).</summary>
    [RegularExpression("^(auto|process|runc)$")]
    public string Executor { get; set; } = "auto";

    /// <summary>
    /// Containers the runc executor keeps created and started ahead, per task shape just used (image, limits,
    /// user, network): submit → started drops from ~45 ms to a few ms. 0 (default) runs every attempt cold.
    /// A pooled container's hostname is its own id, not the task's.
    /// </summary>
    [Range(0, 16)]
    public int WarmPool { get; set; }

    /// <summary>The runc binary of the runc executor.</summary>
    [Required]
    public string RuncPath { get; set; } = Runtime.Containers.RuncOptions.DefaultRuncPath;

    /// <summary>Visibility timeout of a leased task; heartbeats push it while the task runs.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "1.00:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(15);

    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan LeaseCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many tasks of one user may run at once on this server (0 = no limit); at the limit the user's tasks
    /// wait and other users' run. Per-user overrides replace it (<c>IUserLimits</c>).
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxRunningPerUser { get; set; }

    /// <summary>
    /// How many tasks of one user may wait at once (0 = no limit); a submission over it answers 429. Admins are
    /// bound only by their own override (see UserQuotas).
    /// </summary>
    [Range(0, 100_000_000)]
    public int MaxQueuedPerUser { get; set; } = 10_000;

    /// <summary>Submissions per second one user may make, sustained (0 = no limit; admins are not limited).</summary>
    [Range(0, 1_000_000)]
    public int SubmitRatePerSecond { get; set; } = 200;

    /// <summary>How many submissions one user may make in a burst above <see cref="SubmitRatePerSecond"/>.</summary>
    [Range(1, 1_000_000)]
    public int SubmitBurst { get; set; } = 1_000;

    /// <summary>A standard task waiting longer than this is served before newer priority tasks.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan StarvationAge { get; set; } = TimeSpan.FromSeconds(60);

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ScaleOutCooldown { get; set; } = TimeSpan.Zero;

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ScaleInCooldown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Terminal tasks, their logs and results are deleted this long after they ended.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>On SIGTERM running tasks may finish for this long; the rest are requeued.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The highest <c>pidsLimit</c> a task may ask for.</summary>
    [Range(1, 4_194_304)]
    public int MaxPidsPerTask { get; set; } = 4096;

    /// <summary>The highest <c>ephemeralStorageMb</c> a task may ask for.</summary>
    [Range(1, 16_777_216)]
    public int MaxEphemeralStorageMb { get; set; } = 65_536;

    /// <summary>Whether a task may ask to run as root (uid or gid 0) inside its container.</summary>
    public bool AllowRootTasks { get; set; }

    /// <summary>The per-task limits submissions are checked against.</summary>
    internal Core.Tasks.TaskLimits TaskLimits => new()
    {
        MaxPidsPerTask = MaxPidsPerTask,
        MaxEphemeralStorageMb = MaxEphemeralStorageMb,
        AllowRootTasks = AllowRootTasks,
    };

    /// <summary>argv prefix that runs the skiff CLI, for built-in workloads. Empty: this process.</summary>
    public string[] SkiffCommand { get; set; } = [];

    /// <summary>Browser origins (scheme://host[:port]) allowed to call the API; empty: no CORS headers at all.</summary>
    [Transport.CorsOrigins]
    public string[] CorsOrigins { get; set; } = [];
}
