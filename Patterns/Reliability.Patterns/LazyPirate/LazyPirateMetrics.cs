using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// Lazy Pirate instruments on the patterns assembly's meter. Each measurement carries an
/// <c>endpoint</c> tag (the client's endpoints, comma-separated; a small, fixed set per process).
/// </summary>
internal static class LazyPirateMetrics
{
    private static readonly Meter Meter = PatternsMeter.Instance;

    public static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("reliability.lazy_pirate.requests", "{request}", "Lazy Pirate requests started.");

    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("reliability.lazy_pirate.retries", "{retry}", "Lazy Pirate attempts after the first of their request (each on a fresh socket after a timeout).");

    public static readonly Counter<long> Abandoned =
        Meter.CreateCounter<long>("reliability.lazy_pirate.abandoned", "{request}", "Lazy Pirate requests abandoned: no reply on any attempt.");

    public static TagList Tags(string endpoint) => new() { { "endpoint", endpoint } };
}
