using Microsoft.Extensions.Logging;

namespace Skiff.Server.Telemetry;

/// <summary>Source-generated log messages of the server; event ids are unique across this file.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Skiff store: {Path}")]
    public static partial void StoreOpened(ILogger logger, string path);

    [LoggerMessage(2, LogLevel.Warning, "Executor '{Executor}' does NOT isolate tasks: they run as plain processes on this host with the server's rights. Use it for development only.")]
    public static partial void NoIsolation(ILogger logger, string executor);

    [LoggerMessage(3, LogLevel.Information, "Admin API key written to {Path} (mode 0600). Use it as: Authorization: Bearer <key>")]
    public static partial void AdminKeyWritten(ILogger logger, string path);

    [LoggerMessage(4, LogLevel.Information, "Admin API key taken from SKIFF_ADMIN_KEY")]
    public static partial void AdminKeyFromEnvironment(ILogger logger);

    [LoggerMessage(5, LogLevel.Information, "Recovered {Count} waiting tasks into the ready queue")]
    public static partial void ReadyQueueRebuilt(ILogger logger, int count);

    [LoggerMessage(6, LogLevel.Warning, "Lease of task {TaskId} (attempt {Attempt}) expired; {Reason}")]
    public static partial void LeaseExpired(ILogger logger, string taskId, int attempt, string reason);

    [LoggerMessage(7, LogLevel.Warning, "Attempt {Attempt} of task {TaskId} ended after its lease was lost; result discarded")]
    public static partial void StaleCompletion(ILogger logger, string taskId, int attempt);

    [LoggerMessage(8, LogLevel.Error, "Attempt {Attempt} of task {TaskId} failed inside the worker")]
    public static partial void AttemptCrashed(ILogger logger, Exception exception, string taskId, int attempt);

    [LoggerMessage(9, LogLevel.Information, "Shutting down: waiting up to {Grace} for {Count} running tasks")]
    public static partial void Draining(ILogger logger, TimeSpan grace, int count);

    [LoggerMessage(10, LogLevel.Information, "Retention deleted {Count} tasks that ended before {Cutoff}")]
    public static partial void RetentionDeleted(ILogger logger, int count, DateTimeOffset cutoff);

    [LoggerMessage(11, LogLevel.Error, "Background loop {Loop} failed; retrying")]
    public static partial void LoopFailed(ILogger logger, Exception exception, string loop);

    [LoggerMessage(12, LogLevel.Information, "Skiff is listening on {Urls} with executor '{Executor}', up to {MaxWorkers} workers, data in {DataDirectory}")]
    public static partial void Listening(ILogger logger, string urls, string executor, int maxWorkers, string dataDirectory);

    [LoggerMessage(40, LogLevel.Error, "{Count} audit records (the first: {Action}) could not be stored")]
    public static partial void AuditAppendFailed(ILogger logger, Exception exception, int count, string action);

    [LoggerMessage(41, LogLevel.Error, "{Count} audit records (the first: {Action}) arrived after the audit log closed and were not stored")]
    public static partial void AuditRecordsLost(ILogger logger, int count, string action);

    [LoggerMessage(42, LogLevel.Error, "The audit record of {Method} {Path} could not be made")]
    public static partial void AuditRecordFailed(ILogger logger, Exception exception, string method, string path);

    // Secrets (60–69). Never log a value: these name files, keys and secrets only.
    [LoggerMessage(60, LogLevel.Information, "Secrets key ring created at {Path} (mode 0600): back it up together with the database")]
    public static partial void SecretKeyFileCreated(ILogger logger, string path);

    [LoggerMessage(61, LogLevel.Warning, "Secrets key ring {Path} is readable or writable by other users: chmod 600 it")]
    public static partial void SecretKeyFileExposed(ILogger logger, string path);

    [LoggerMessage(62, LogLevel.Error, "A secret used by task {TaskId} cannot be decrypted")]
    public static partial void SecretUnreadable(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(63, LogLevel.Information, "Secrets key rotated: new key {KeyId} in {Path}, {Resealed} values sealed again, {Removed} old keys removed")]
    public static partial void SecretKeyRotated(ILogger logger, string keyId, int resealed, int removed, string path);

    // Images: 90-99.
    [LoggerMessage(90, LogLevel.Warning, "Built-in image left out: {Problem}")]
    public static partial void BuiltInImageMissing(ILogger logger, string problem);

    [LoggerMessage(91, LogLevel.Information, "Image {Image} imported ({Outcome}, {Digest}, {Size} bytes); {Pruned} old versions removed")]
    public static partial void ImageImported(ILogger logger, string image, string outcome, string digest, long size, int pruned);
}
