using System.Globalization;

namespace Reliability.Chaos.Scenarios;

/// <summary>Freelance fault steps: several servers of the group down at once.</summary>
public static partial class Faults
{
    /// <summary>
    /// Freelance: SIGKILL server <paramref name="first"/>, then server <paramref name="second"/>
    /// <paramref name="gap"/> later (both 0-based), so that both are down at once; start both again
    /// on their endpoints <paramref name="downFor"/> after the first kill.
    /// </summary>
    /// <param name="at">When the first server is killed.</param>
    /// <param name="first">The first victim.</param>
    /// <param name="second">The second victim.</param>
    /// <param name="gap">Time between the two kills (shorter than <paramref name="downFor"/>).</param>
    /// <param name="downFor">Time from the first kill to the restarts.</param>
    /// <returns>The step.</returns>
    public static FaultStep KillTwoServers(TimeSpan at, int first, int second, TimeSpan gap, TimeSpan downFor)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(gap, downFor);
        string a = (first + 1).ToString(CultureInfo.InvariantCulture);
        string b = (second + 1).ToString(CultureInfo.InvariantCulture);
        return new FaultStep
        {
            Name = $"SIGKILL server-{a}, server-{b} {Ms(gap)} later",
            At = at,
            Inject = async (context, token) =>
            {
                context.Deployment.Servers[first].Kill();
                await Task.Delay(gap, context.Clock.TimeProvider, token).ConfigureAwait(false);
                context.Deployment.Servers[second].Kill();
            },
            HealAfter = downFor,
            Heal = async (context, token) =>
            {
                await context.Deployment.RestartServerAsync(first, token).ConfigureAwait(false);
                await context.Deployment.RestartServerAsync(second, token).ConfigureAwait(false);
            },
            HealName = $"restart server-{a} and server-{b} (same endpoints)",
        };
    }
}
