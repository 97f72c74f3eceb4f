namespace Skiff.Testing;

/// <summary>
/// A fresh directory under the system temp folder, removed on dispose. Each test gets its own, so tests
/// that touch real files (SQLite stores, task output) can run in parallel without seeing each other.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "skiff-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>The full path of <paramref name="relative"/> inside this directory (not created).</summary>
    public string Combine(params string[] relative) => System.IO.Path.Combine([Path, .. relative]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a handle still open (a failing test's store) must not turn a red test into two.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above on platforms that report a locked file this way.
        }
    }
}
