using System.Diagnostics.Metrics;

namespace Reliability.Mdp;

/// <summary>
/// The assembly's meter, <c>Reliability.Mdp</c>, with instruments named
/// <c>reliability.mdp.&lt;component&gt;.&lt;thing&gt;</c> (components <c>broker</c>, <c>client</c>, <c>worker</c>).
/// Clients and workers share <see cref="Shared"/>; a broker creates its own through the application's
/// <see cref="IMeterFactory"/> when it is given one, so a host's metrics pipeline owns it (and tests
/// listen to exactly their own broker). Which instruments show which reliability claim: docs/reliability.md §3.
/// </summary>
internal static class MdpMeter
{
    public const string Name = "Reliability.Mdp";

    private const string Version = "1.0";

    public static readonly Meter Shared = new(Name, Version);

    /// <summary>A meter of this assembly's name for one broker: from <paramref name="factory"/> when given.</summary>
    public static Meter Create(IMeterFactory? factory) =>
        factory?.Create(new MeterOptions(Name) { Version = Version }) ?? new Meter(Name, Version);
}
