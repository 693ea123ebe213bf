using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Patterns.Freelance;

/// <summary>
/// Freelance client instruments on the patterns assembly's meter (<c>reliability.freelance.*</c>). Each
/// measurement carries an <c>endpoint</c> tag: the client's servers, comma-separated.
/// </summary>
internal sealed class FreelanceMetrics(IReadOnlyList<string> endpoints)
{
    private static readonly Meter Meter = PatternsMeter.Instance;

    private static readonly Counter<long> RequestCounter =
        Meter.CreateCounter<long>("reliability.freelance.requests", "{request}", "Freelance requests submitted.");

    private static readonly Counter<long> RetryCounter =
        Meter.CreateCounter<long>("reliability.freelance.retries", "{retry}", "Freelance tries after the first of their request.");

    private static readonly Counter<long> AbandonedCounter =
        Meter.CreateCounter<long>("reliability.freelance.abandoned", "{request}", "Freelance requests that reached their deadline unanswered.");

    private static readonly Counter<long> DroppedCounter =
        Meter.CreateCounter<long>("reliability.freelance.dropped", "{message}", "Freelance messages dropped: late or duplicate replies and invalid messages.");

    public Counter<long> Requests => RequestCounter;

    public Counter<long> Retries => RetryCounter;

    public Counter<long> Abandoned => AbandonedCounter;

    public Counter<long> Dropped => DroppedCounter;

    public TagList Tags { get; } = new() { { "endpoint", string.Join(',', endpoints) } };
}
