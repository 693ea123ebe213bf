using System.Diagnostics.Metrics;

namespace Reliability.Patterns;

/// <summary>
/// The assembly's one meter, <c>Reliability.Patterns</c>: every pattern's instruments are created on it,
/// named <c>reliability.&lt;component&gt;.&lt;thing&gt;</c> (components <c>lazy_pirate</c>, <c>pirate</c> and <c>binary_star</c>).
/// Which instruments show which reliability claim: docs/reliability.md §3.
/// </summary>
internal static class PatternsMeter
{
    public const string Name = "Reliability.Patterns";

    public static readonly Meter Instance = new(Name, "1.0");
}
