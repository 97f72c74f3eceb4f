using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Skiff.Runtime.Execution;

/// <summary>
/// One thread that waits, with epoll, for the pidfds of every <see cref="SpawnedProcess"/> of this server to
/// become readable (the process exited) and tells the process.
/// </summary>
/// <remarks>
/// It only watches: reaping stays with the owner of each process, by its own pid, so this never takes a child
/// that belongs to someone else (.NET's <see cref="System.Diagnostics.Process"/> waits for its children by pid
/// too), and the owner can still signal the exited process's group while its pid is held by the zombie.
/// One thread for all attempts rather than a blocking wait per attempt, which would tie up a thread-pool
/// thread for the attempt's whole life.
/// </remarks>
internal sealed class ExitWatcher
{
    private const int MaxEvents = 64;

    private static readonly Lazy<ExitWatcher> LazyShared = new(() => new ExitWatcher(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly int _epoll;
    private readonly ConcurrentDictionary<long, SpawnedProcess> _watched = new();
    private long _nextId;

    private ExitWatcher()
    {
        _epoll = SpawnNative.EpollCreate(SpawnNative.OpenCloseOnExec);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        var thread = new Thread(Run) { IsBackground = true, Name = "Skiff exit watcher" };
        thread.Start();
    }

    public static ExitWatcher Shared => LazyShared.Value;

    /// <summary>Calls <see cref="SpawnedProcess.OnExited"/> once, from the watcher's thread, when the process has exited.</summary>
    /// <returns>0, or the errno of epoll_ctl.</returns>
    public int Watch(SpawnedProcess process, int pidfd)
    {
        var id = Interlocked.Increment(ref _nextId);
        _watched[id] = process;
        var epollEvent = Marshal.AllocHGlobal(16);
        try
        {
            // One shot: the pidfd stays readable until it is closed, after the owner reaped the process.
            Marshal.WriteInt32(epollEvent, 0, unchecked((int)(SpawnNative.EpollIn | SpawnNative.EpollOneShot)));
            Marshal.WriteInt64(epollEvent, SpawnNative.EpollDataOffset, id);
            if (SpawnNative.EpollControl(_epoll, SpawnNative.EpollCtlAdd, pidfd, epollEvent) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                _watched.TryRemove(id, out _);
                return errno;
            }
            return 0;
        }
        finally
        {
            Marshal.FreeHGlobal(epollEvent);
        }
    }

    private void Run()
    {
        var events = Marshal.AllocHGlobal(MaxEvents * SpawnNative.EpollEventSize);
        while (true)
        {
            var count = SpawnNative.EpollWait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == SpawnNative.Interrupted)
                {
                    continue;
                }
                // Not expected with a valid epoll descriptor; a blocked attempt still ends on its timeout.
                Thread.Sleep(10);
                continue;
            }
            for (var i = 0; i < count; i++)
            {
                var id = Marshal.ReadInt64(events, (i * SpawnNative.EpollEventSize) + SpawnNative.EpollDataOffset);
                if (_watched.TryRemove(id, out var process))
                {
                    process.OnExited();
                }
            }
        }
    }
}
