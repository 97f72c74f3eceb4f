using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Skiff.Runtime.Workloads;

/// <summary>
/// The built-in workload types. Each reads all its parameters first and returns
/// <see cref="WorkloadRunner.InvalidParametersExitCode"/> before doing anything when one is bad.
/// </summary>
internal static class BuiltInWorkloads
{
    private const int OneMiB = 1024 * 1024;
    // Generous caps: they only catch typos and overflow; the task's own limits are the real bound.
    private const long MaxSeconds = 30L * 24 * 60 * 60;
    private const long MaxMb = 1024L * 1024;
    private const int HashesPerChunk = 4096;

    /// <summary>SHA-256 chain for <c>seconds</c> (default 1) or a fixed number of <c>iterations</c>, whichever ends first.</summary>
    public static async Task<int> CpuAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        var seconds = context.Parameters.OptionalInteger("seconds", 0, MaxSeconds);
        var iterations = context.Parameters.OptionalInteger("iterations", 1, long.MaxValue);
        if (!context.Parameters.Valid)
        {
            return WorkloadRunner.InvalidParametersExitCode;
        }
        TimeSpan? duration = seconds is { } s ? TimeSpan.FromSeconds(s) : iterations is null ? TimeSpan.FromSeconds(1) : null;

        var plan = (duration, iterations) switch
        {
            ({ } d, { } n) => $"{n} iterations or {d.TotalSeconds:0} s, whichever ends first",
            ({ } d, null) => $"{d.TotalSeconds:0} s",
            _ => $"{iterations} iterations",
        };
        await context.Stdout.WriteLineAsync($"cpu-intensive: SHA-256 chain for {plan}").ConfigureAwait(false);

        var timeProvider = context.TimeProvider;
        var state = new byte[SHA256.HashSizeInBytes];
        var started = timeProvider.GetTimestamp();
        var nextProgress = TimeSpan.FromSeconds(1);
        long done = 0;
        TimeSpan elapsed;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = iterations is { } total ? Math.Min(HashesPerChunk, total - done) : HashesPerChunk;
            HashChain(state, (int)chunk);
            done += chunk;
            elapsed = timeProvider.GetElapsedTime(started);
            if (done == iterations || elapsed >= duration)
            {
                break;
            }
            if (elapsed >= nextProgress)
            {
                await context.Stdout.WriteLineAsync($"progress: {done} iterations, {Seconds(elapsed)} s").ConfigureAwait(false);
                nextProgress += TimeSpan.FromSeconds(1);
            }
        }

        var digest = Convert.ToHexStringLower(state);
        var rate = done / Math.Max(elapsed.TotalSeconds, 0.001);
        await context.Stdout.WriteLineAsync(
            $"cpu-intensive: {done} iterations in {(long)elapsed.TotalMilliseconds} ms ({rate:0} per second), digest {digest}").ConfigureAwait(false);
        context.Result["iterations"] = done;
        context.Result["elapsedMs"] = (long)elapsed.TotalMilliseconds;
        context.Result["digest"] = digest;
        return 0;
    }

    /// <summary>Allocates <c>mb</c> MiB (default 64), writes to every page, optionally holds it <c>seconds</c>.</summary>
    public static async Task<int> MemoryAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        var mb = context.Parameters.Integer("mb", 64, 1, MaxMb);
        var holdSeconds = context.Parameters.Integer("seconds", 0, 0, MaxSeconds);
        if (!context.Parameters.Valid)
        {
            return WorkloadRunner.InvalidParametersExitCode;
        }

        var timeProvider = context.TimeProvider;
        var pageSize = Environment.SystemPageSize;
        var started = timeProvider.GetTimestamp();
        var chunks = new byte[mb][];
        long pages = 0;
        for (var i = 0; i < chunks.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Uninitialised so that only our writes commit the pages: the point is resident memory, not address space.
            var chunk = GC.AllocateUninitializedArray<byte>(OneMiB);
            for (var offset = 0; offset < chunk.Length; offset += pageSize)
            {
                chunk[offset] = (byte)(i + offset);
                pages++;
            }
            // The array does not start on a page boundary, so its last page may not have been written yet.
            chunk[^1] = (byte)i;
            chunks[i] = chunk;
        }
        var elapsed = timeProvider.GetElapsedTime(started);
        var workingSetMb = Environment.WorkingSet / OneMiB;
        await context.Stdout.WriteLineAsync(
            $"memory-intensive: allocated {mb} MiB ({pages} pages written) in {(long)elapsed.TotalMilliseconds} ms; working set {workingSetMb} MiB").ConfigureAwait(false);

        if (holdSeconds > 0)
        {
            await context.Stdout.WriteLineAsync($"memory-intensive: holding it for {holdSeconds} s").ConfigureAwait(false);
            await context.Stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(holdSeconds), timeProvider, cancellationToken).ConfigureAwait(false);
        }

        // Reading the pages back keeps the allocation observable, so none of it can be optimised away.
        long checksum = 0;
        foreach (var chunk in chunks)
        {
            for (var offset = 0; offset < chunk.Length; offset += pageSize)
            {
                checksum += chunk[offset];
            }
        }
        await context.Stdout.WriteLineAsync($"memory-intensive: released {mb} MiB (checksum {checksum})").ConfigureAwait(false);
        context.Result["mb"] = mb;
        context.Result["pages"] = pages;
        context.Result["allocateMs"] = (long)elapsed.TotalMilliseconds;
        context.Result["workingSetMb"] = workingSetMb;
        context.Result["heldSeconds"] = holdSeconds;
        return 0;
    }

    /// <summary>Writes <c>mb</c> MiB (default 16) to a scratch file, fsyncs, reads it back and compares SHA-256.</summary>
    public static async Task<int> IoAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        var mb = context.Parameters.Integer("mb", 16, 1, MaxMb);
        if (!context.Parameters.Valid)
        {
            return WorkloadRunner.InvalidParametersExitCode;
        }

        var timeProvider = context.TimeProvider;
        var path = Path.Combine(context.WorkDirectory, $"skiff-io-{Guid.NewGuid():N}.tmp");
        var buffer = new byte[OneMiB];
        var random = new Random();
        try
        {
            var writeStarted = timeProvider.GetTimestamp();
            byte[] written;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous))
            {
                for (var i = 0; i < mb; i++)
                {
                    random.NextBytes(buffer);
                    hash.AppendData(buffer);
                    await file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                }
                // fsync: the write figure includes getting the data to the device, not just to the page cache.
                file.Flush(flushToDisk: true);
                written = hash.GetHashAndReset();
            }
            var writeElapsed = timeProvider.GetElapsedTime(writeStarted);

            var readStarted = timeProvider.GetTimestamp();
            long readBytes = 0;
            byte[] read;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                int count;
                while ((count = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, count);
                    readBytes += count;
                }
                read = hash.GetHashAndReset();
            }
            var readElapsed = timeProvider.GetElapsedTime(readStarted);

            var checksum = Convert.ToHexStringLower(written);
            if (readBytes != mb * OneMiB || !read.AsSpan().SequenceEqual(written))
            {
                await context.Stderr.WriteLineAsync(
                    $"io-intensive: read back {readBytes} bytes with sha256 {Convert.ToHexStringLower(read)}, wrote {mb * OneMiB} with sha256 {checksum}").ConfigureAwait(false);
                context.Result["checksumOk"] = false;
                return WorkloadRunner.FailedExitCode;
            }

            var writeRate = mb / Math.Max(writeElapsed.TotalSeconds, 0.001);
            var readRate = mb / Math.Max(readElapsed.TotalSeconds, 0.001);
            await context.Stdout.WriteLineAsync(
                $"io-intensive: wrote {mb} MiB in {(long)writeElapsed.TotalMilliseconds} ms ({writeRate:0.0} MiB/s, fsync included)").ConfigureAwait(false);
            await context.Stdout.WriteLineAsync(
                $"io-intensive: read {mb} MiB in {(long)readElapsed.TotalMilliseconds} ms ({readRate:0.0} MiB/s); sha256 {checksum} matches").ConfigureAwait(false);
            context.Result["mb"] = mb;
            context.Result["writeMs"] = (long)writeElapsed.TotalMilliseconds;
            context.Result["readMs"] = (long)readElapsed.TotalMilliseconds;
            context.Result["writeMiBPerSecond"] = Math.Round(writeRate, 1);
            context.Result["readMiBPerSecond"] = Math.Round(readRate, 1);
            context.Result["sha256"] = checksum;
            context.Result["checksumOk"] = true;
            return 0;
        }
        finally
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await context.Stderr.WriteLineAsync($"io-intensive: could not delete {path}: {e.Message}").ConfigureAwait(false);
            }
        }
    }

    /// <summary>Opens a TCP connection to <c>host</c>:<c>port</c> within <c>timeoutMs</c> (default 3000).</summary>
    public static async Task<int> NetworkAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        var host = context.Parameters.RequiredText("host");
        var port = (int)context.Parameters.RequiredInteger("port", 1, 65535);
        var timeoutMs = context.Parameters.Integer("timeoutMs", 3000, 1, 600_000);
        if (!context.Parameters.Valid)
        {
            return WorkloadRunner.InvalidParametersExitCode;
        }

        var target = $"{host}:{port}";
        context.Result["host"] = host;
        context.Result["port"] = port;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(timeoutMs), context.TimeProvider);
        using var connectToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var started = context.TimeProvider.GetTimestamp();
        try
        {
            await socket.ConnectAsync(host, port, connectToken.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await context.Stderr.WriteLineAsync($"network-test: timed out connecting to {target} after {timeoutMs} ms").ConfigureAwait(false);
            context.Result["connected"] = false;
            context.Result["error"] = "timed out";
            return WorkloadRunner.FailedExitCode;
        }
        catch (SocketException e)
        {
            await context.Stderr.WriteLineAsync($"network-test: cannot connect to {target}: {e.Message} ({e.SocketErrorCode})").ConfigureAwait(false);
            context.Result["connected"] = false;
            context.Result["error"] = e.SocketErrorCode.ToString();
            return WorkloadRunner.FailedExitCode;
        }
        var elapsedMs = (long)context.TimeProvider.GetElapsedTime(started).TotalMilliseconds;
        await context.Stdout.WriteLineAsync($"connected to {target} in {elapsedMs} ms").ConfigureAwait(false);
        context.Result["connected"] = true;
        context.Result["connectMs"] = elapsedMs;
        context.Result["remote"] = socket.RemoteEndPoint?.ToString();
        return 0;
    }

    /// <summary>Prints <c>message</c> on stderr and exits with <c>exitCode</c> (default 1).</summary>
    public static async Task<int> ErrorAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        var exitCode = (int)context.Parameters.Integer("exitCode", 1, 0, 255);
        var message = context.Parameters.Text("message", "simulated failure");
        if (!context.Parameters.Valid)
        {
            return WorkloadRunner.InvalidParametersExitCode;
        }
        await context.Stderr.WriteLineAsync(message.AsMemory(), cancellationToken).ConfigureAwait(false);
        context.Result["message"] = message;
        return exitCode;
    }

    /// <summary>Sleeps <c>seconds</c> (default 3600), meant to outlive its task's timeout.</summary>
    public static async Task<int> TimeoutAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        var seconds = context.Parameters.Integer("seconds", 3600, 0, MaxSeconds);
        if (!context.Parameters.Valid)
        {
            return WorkloadRunner.InvalidParametersExitCode;
        }
        await context.Stdout.WriteLineAsync($"timeout: sleeping for {seconds} s (meant to outlive the task's timeout)").ConfigureAwait(false);
        await context.Stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(seconds), context.TimeProvider, cancellationToken).ConfigureAwait(false);
        await context.Stdout.WriteLineAsync($"timeout: slept {seconds} s").ConfigureAwait(false);
        context.Result["sleptSeconds"] = seconds;
        return 0;
    }

    private static void HashChain(byte[] state, int count)
    {
        Span<byte> current = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> next = stackalloc byte[SHA256.HashSizeInBytes];
        state.CopyTo(current);
        for (var i = 0; i < count; i++)
        {
            SHA256.HashData(current, next);
            next.CopyTo(current);
        }
        current.CopyTo(state);
    }

    private static string Seconds(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
}
