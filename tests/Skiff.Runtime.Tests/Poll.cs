namespace Skiff.Runtime.Tests;

/// <summary>Waits for a condition with a deadline instead of sleeping a guessed amount.</summary>
internal static class Poll
{
    public static async Task<bool> UntilAsync(Func<bool> condition, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return condition();
            }
        }
        return true;
    }
}
