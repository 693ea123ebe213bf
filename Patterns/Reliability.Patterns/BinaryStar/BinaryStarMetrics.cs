using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Patterns.BinaryStar;

/// <summary>Binary Star instruments on the patterns assembly's meter; each measurement carries a <c>role</c> tag (primary or backup).</summary>
internal static class BinaryStarMetrics
{
    private static readonly Meter Meter = PatternsMeter.Instance;

    public static readonly Counter<long> StateChanges =
        Meter.CreateCounter<long>("reliability.binary_star.state_changes", "{change}", "Binary Star state changes, tagged with the new state and the cause.");

    public static readonly Counter<long> RejectedRequests =
        Meter.CreateCounter<long>("reliability.binary_star.requests.rejected", "{request}", "Client requests a Binary Star node refused to serve (left unanswered).");

    public static readonly Counter<long> SplitBrains =
        Meter.CreateCounter<long>("reliability.binary_star.split_brains", "{event}", "Binary Star nodes that stopped because their peer was in the same active or passive state.");

    public static readonly Counter<long> InvalidMessages =
        Meter.CreateCounter<long>("reliability.binary_star.messages.invalid", "{message}", "Messages from the peer that were not a state, and frontend messages without a REQ envelope; dropped.");

    public static TagList Tags(BinaryStarRole role) => new() { { "role", role == BinaryStarRole.Primary ? "primary" : "backup" } };
}
