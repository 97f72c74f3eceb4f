using Skiff.Runtime.Containers;
using Skiff.Testing;

namespace Skiff.Runtime.Tests.Containers;

/// <summary>
/// One state root and image directory shared by the container tests (the busybox image is built once).
/// Without runc, tini or root every test fails with how to fix it: isolation is never silently untested.
/// </summary>
public sealed class RuncFixture : IDisposable
{
    private readonly TempDirectory _root = new();

    public RuncFixture()
    {
        Available = RuncExecutor.IsAvailable(out var reason);
        Problem = Available ? "" : $"{reason}: install runc busybox-static tini (scripts/test.sh does) and run as root";
        Options = new RuncOptions
        {
            StateRoot = _root.Combine("runc"),
            ImagesDirectory = _root.Combine("images"),
        };
        Executor = new RuncExecutor(Options);
    }

    public bool Available { get; }

    public string Problem { get; }

    public RuncOptions Options { get; }

    public RuncExecutor Executor { get; }

    // Each test asserts its attempt left nothing; CleanupLeftoversAsync is not called here because it also
    // sweeps /skiff cgroups that other processes on this machine may be using.
    public void Dispose() => _root.Dispose();
}

[CollectionDefinition(Name)]
public sealed class RuncCollection : ICollectionFixture<RuncFixture>
{
    // Containers share the machine's two cores and the /skiff cgroup parent: one test at a time.
    public const string Name = "runc";
}
