using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Skiff.Runtime.Execution;
using Skiff.Runtime.Images;

namespace Skiff.Runtime.Containers;

/// <summary>
/// Containers created and started ahead of their tasks, for the shapes (image, limits, user, network) that
/// were just used: each holds tini and a shell blocked on a fifo. Taking one is writing the attempt's command
/// into its control directory and a line into the fifo, so the command starts in a millisecond or two instead
/// of the ~40 ms of <c>runc run</c>. Each container serves one attempt and is then removed: nothing of a task
/// outlives it. Only the built-in images (which have /bin/sh and env) are pooled.
/// </summary>
/// <remarks>
/// A pooled container was created before its task, so its hostname is its own id, not the task's.
/// Its /output is a directory of its bundle, moved into the attempt's output directory at the end.
/// </remarks>
internal sealed class WarmPool : IAsyncDisposable
{
    public const string IdPrefix = "warm-";
    public const string ControlInside = "/.skiff/control";
    public const string StatusInside = "/.skiff/status";

    // Blocks until the executor opens the fifo for writing, then runs the attempt's script.
    private const string Waiter = "read -r _ < " + ControlInside + "/go && . " + ControlInside + "/command";

    private readonly RuncOptions _options;
    private readonly RuncCli _runc;
    private readonly Cgroups _cgroups;
    private readonly ImageStore _images;
    private readonly int _size;
    private readonly ConcurrentDictionary<WarmKey, ConcurrentQueue<WarmContainer>> _ready = new();
    private readonly ConcurrentDictionary<WarmKey, byte> _filling = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _fills = [];

    public WarmPool(RuncOptions options, RuncCli runc, Cgroups cgroups, ImageStore images, int size)
    {
        _options = options;
        _runc = runc;
        _cgroups = cgroups;
        _images = images;
        _size = size;
    }

    /// <summary>The pool's shape for a request, or null when the request cannot be served by a pooled container.</summary>
    public static WarmKey? KeyOf(ExecutionRequest request)
    {
        if (!ImageStore.IsBuiltInName(request.Image)
            || request.Command[0].StartsWith('-')
            || request.Env.Keys.Any(name => !IsShellName(name)))
        {
            return null;
        }
        return new WarmKey(request.Image, request.Cpu, request.MemoryMb, request.PidsLimit, request.EphemeralStorageMb, request.User, request.Network,
            string.Join('\n', request.Binds.Select(b => b.Source + "\0" + b.Destination)));
    }

    /// <summary>Containers ready to be taken, all shapes together.</summary>
    public int ReadyCount => _ready.Values.Sum(queue => queue.Count);

    public bool TryTake(WarmKey key, out WarmContainer container)
    {
        container = null!;
        return _ready.TryGetValue(key, out var queue) && queue.TryDequeue(out container!);
    }

    /// <summary>Starts creating containers of this shape in the background until the pool holds its size of them.</summary>
    public void Fill(WarmKey key, ExecutionRequest template)
    {
        if (_stopping.IsCancellationRequested
            || (_ready.TryGetValue(key, out var ready) && ready.Count >= _size)
            || !_filling.TryAdd(key, 0))
        {
            return;
        }
        var fill = Task.Run(async () =>
        {
            try
            {
                var queue = _ready.GetOrAdd(key, _ => new ConcurrentQueue<WarmContainer>());
                while (queue.Count < _size && !_stopping.IsCancellationRequested)
                {
                    var container = await CreateAsync(template).ConfigureAwait(false);
                    if (container is null)
                    {
                        return; // cannot be pooled (runc refused it): attempts of this shape run cold
                    }
                    queue.Enqueue(container);
                }
            }
            finally
            {
                _filling.TryRemove(key, out _);
            }
        });
        lock (_fills)
        {
            _fills.RemoveAll(task => task.IsCompleted);
            _fills.Add(fill);
        }
    }

    /// <summary>The attempt's script: its environment, then its command through env (never a shell builtin), then its exit status.</summary>
    public static string Script(ExecutionRequest request)
    {
        var script = new StringBuilder("cd ").Append(OciSpecBuilder.WorkInside).Append(" || exit 125\n");
        foreach (var (name, value) in OciSpecBuilder.EnvironmentOf(request))
        {
            script.Append("export ").Append(name).Append('=').Append(Quote(value)).Append('\n');
        }
        script.Append("env");
        foreach (var argument in request.Command)
        {
            script.Append(' ').Append(Quote(argument));
        }
        return script.Append("\necho $? > ").Append(StatusInside).Append("/code\n").ToString();
    }

    /// <summary>Hands the attempt to the waiting shell: false if nothing waits any more (the container died).</summary>
    public static async Task<bool> StartAsync(WarmContainer container, ExecutionRequest request)
    {
        // The script holds the task's environment, secrets included: readable by the task's user alone.
        var command = Path.Combine(container.Bundle, "control", "command");
        await RuncExecutor.WritePrivateAsync(command, Encoding.UTF8.GetBytes(Script(request))).ConfigureAwait(false);
        if (NativeMethods.Chown(command, request.User.Uid, request.User.Gid) != 0)
        {
            return false;
        }
        // Non-blocking: with no reader (the shell is gone) this fails at once instead of waiting forever.
        var fd = NativeMethods.Open(Path.Combine(container.Bundle, "control", "go"), NativeMethods.WriteOnlyNonBlocking);
        if (fd < 0)
        {
            return false;
        }
        try
        {
            return NativeMethods.Write(fd, "\n"u8.ToArray(), 1) == 1;
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    /// <summary>The exit status the script wrote, if it got that far.</summary>
    public static int? ExitCode(WarmContainer container)
    {
        var file = Path.Combine(container.Bundle, "status", "code");
        return File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;
    }

    /// <summary>Moves what the attempt wrote to /output into the attempt's own output directory.</summary>
    public static void MoveOutput(WarmContainer container, string outputDirectory)
    {
        var output = Path.Combine(container.Bundle, "output");
        foreach (var entry in Directory.EnumerateFileSystemEntries(output))
        {
            var target = Path.Combine(outputDirectory, Path.GetFileName(entry));
            if (Directory.Exists(entry) && !File.GetAttributes(entry).HasFlag(FileAttributes.ReparsePoint))
            {
                Directory.Move(entry, target);
            }
            else
            {
                File.Move(entry, target, overwrite: true);
            }
        }
    }

    private async Task<WarmContainer?> CreateAsync(ExecutionRequest template)
    {
        var id = IdPrefix + Guid.NewGuid().ToString("N")[..20];
        var bundle = Path.Combine(_options.BundlesDirectory, id);
        ImageLease? image;
        try
        {
            image = await _images.AcquireAsync(template.Image, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or InvalidOperationException)
        {
            return null;
        }
        if (image is null)
        {
            return null;
        }
        Process? create = null;
        try
        {
            var control = Directory.CreateDirectory(Path.Combine(bundle, "control")).FullName;
            var status = Directory.CreateDirectory(Path.Combine(bundle, "status")).FullName;
            var output = Directory.CreateDirectory(Path.Combine(bundle, "output")).FullName;
            var go = Path.Combine(control, "go");
            if (NativeMethods.MakeFifo(go, 0x180) != 0
                || NativeMethods.Chown(go, template.User.Uid, template.User.Gid) != 0
                || NativeMethods.Chown(status, template.User.Uid, template.User.Gid) != 0
                || NativeMethods.Chown(output, template.User.Uid, template.User.Gid) != 0)
            {
                throw new IOException($"cannot prepare the control directory of {id}: errno {Marshal.GetLastPInvokeError()}");
            }
            var request = template with
            {
                TaskId = id,
                Attempt = 0,
                Command = ["/bin/sh", "-c", Waiter],
                Env = new Dictionary<string, string>(),
                WorkDirectory = output,
                OutputDirectory = output,
            };
            OciMount[] extra =
            [
                new(ControlInside, "bind", control, ["bind", "ro", "nosuid", "nodev"]),
                new(StatusInside, "bind", status, ["bind", "rw", "nosuid", "nodev"]),
            ];
            var spec = OciSpecBuilder.Build(request, id, image.RootfsPath, _options, _cgroups.SwapAccounted, image.HostBinds, extra);
            await RuncExecutor.WritePrivateAsync(Path.Combine(bundle, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.OciSpec)).ConfigureAwait(false);

            var startInfo = _runc.ContainerStartInfo("create", bundle, id);
            // The container keeps runc's stdio: these pipes become the attempt's stdout and stderr.
            create = Process.Start(startInfo)!;
            create.StandardInput.Close();
            // Not cancellable: abandoned half-way, runc would finish creating a container nobody removes.
            await create.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            if (create.ExitCode != 0 || (await _runc.RunAsync(["start", id]).ConfigureAwait(false)).ExitCode != 0)
            {
                throw new IOException($"runc could not create or start {id}");
            }
            return new WarmContainer(id, bundle, create, image);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            create?.Dispose();
            image.Dispose();
            await RemoveAsync(id, bundle).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Kills and removes a container of the pool (also what the executor does after an attempt).</summary>
    public Task RemoveAsync(string id, string bundle) => RuncExecutor.RemoveContainerAsync(_runc, _cgroups, id, bundle);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] fills;
        lock (_fills)
        {
            fills = [.. _fills];
        }
        await Task.WhenAll(fills).ConfigureAwait(false);
        foreach (var queue in _ready.Values)
        {
            while (queue.TryDequeue(out var container))
            {
                await RemoveAsync(container.Id, container.Bundle).ConfigureAwait(false);
                container.Dispose();
            }
        }
        _stopping.Dispose();
    }

    private static bool IsShellName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>What a pooled container was created with: an attempt must match it exactly to use it.</summary>
internal sealed record WarmKey(string Image, int Cpu, int MemoryMb, int PidsLimit, int EphemeralStorageMb, Core.Tasks.TaskUser User, string Network, string Binds);

/// <summary>A started container waiting for its attempt; owns runc's pipes (the attempt's stdout and stderr) and its image lease.</summary>
internal sealed class WarmContainer(string id, string bundle, Process create, ImageLease image) : IDisposable
{
    public string Id { get; } = id;

    public string Bundle { get; } = bundle;

    public Stream Stdout => create.StandardOutput.BaseStream;

    public Stream Stderr => create.StandardError.BaseStream;

    public void Dispose()
    {
        create.Dispose();
        image.Dispose();
    }
}
