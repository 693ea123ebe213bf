using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Transport.Internal;

/// <summary>The transport's instruments (one <see cref="Meter"/> per assembly, OpenTelemetry-style names).</summary>
internal static class TransportMetrics
{
    public const string MeterName = "Reliability.Transport";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly UpDownCounter<long> Connections =
        Meter.CreateUpDownCounter<long>("reliability.transport.connections", "{connection}", "Connections whose handshake completed and that are still open.");

    public static readonly Counter<long> MessagesSent =
        Meter.CreateCounter<long>("reliability.transport.messages.sent", "{message}", "Messages written to peers.");

    public static readonly Counter<long> MessagesReceived =
        Meter.CreateCounter<long>("reliability.transport.messages.received", "{message}", "Messages read from peers.");

    public static readonly Counter<long> BytesSent =
        Meter.CreateCounter<long>("reliability.transport.bytes.sent", "By", "Octets written to peers, framing included.");

    public static readonly Counter<long> BytesReceived =
        Meter.CreateCounter<long>("reliability.transport.bytes.received", "By", "Octets read from peers, framing included.");

    public static readonly Counter<long> MessagesDropped =
        Meter.CreateCounter<long>("reliability.transport.messages.dropped", "{message}", "Messages dropped (unroutable, full queue, malformed envelope, closed).");

    public static readonly Counter<long> ProtocolErrors =
        Meter.CreateCounter<long>("reliability.transport.protocol_errors", "{error}", "Connections closed for a protocol violation.");

    public static readonly Counter<long> ConnectionsRefused =
        Meter.CreateCounter<long>("reliability.transport.connections.refused", "{connection}", "Accepted connections closed at once because a bound endpoint was at its MaxConnections or MaxPendingHandshakes.");

    public static void Dropped(SocketType socketType, string reason, long count = 1) =>
        MessagesDropped.Add(count, new TagList { { "socket.type", socketType.ToString() }, { "reason", reason } });
}
