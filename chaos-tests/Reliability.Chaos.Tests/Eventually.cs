namespace Reliability.Chaos.Tests;

/// <summary>Bounded polling for conditions that only the kernel can report (process states).</summary>
internal static class Eventually
{
    public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        for (int i = 0; i < 10_000; i++)
        {
            if (condition())
            {
                return true;
            }

            if (TimeProvider.System.GetElapsedTime(deadline) > timeout)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return false;
    }
}
