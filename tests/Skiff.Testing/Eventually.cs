namespace Skiff.Testing;

/// <summary>
/// Waits for state that another process or thread produces by polling it until a deadline, never by sleeping
/// a fixed time: fast when the machine is fast, patient when it is loaded, and a clear message when it never
/// happens.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Calls <paramref name="probe"/> until <paramref name="done"/> holds for its value and returns that value;
    /// throws <see cref="TimeoutException"/> naming <paramref name="what"/> and the last value seen after
    /// <paramref name="timeout"/>.
    /// </summary>
    public static async Task<T> UntilAsync<T>(
        Func<Task<T>> probe,
        Func<T, bool> done,
        TimeSpan timeout,
        string what,
        Func<T, string>? describe = null,
        TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }
            if (TimeProvider.System.GetTimestamp() >= deadline)
            {
                var last = describe is null ? value?.ToString() : describe(value);
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; last seen: {last}");
            }
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds; see <see cref="UntilAsync{T}"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, TimeSpan? interval = null) =>
        UntilAsync(() => Task.FromResult(condition()), static ok => ok, timeout, what, null, interval);
}
