using System.Text;
using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>What a worker's message means to a Pirate queue (RFC 6 commands plus replies).</summary>
internal enum WorkerCommand
{
    /// <summary>Not a PPP command or reply; logged, counted and ignored.</summary>
    Invalid,

    /// <summary>The one-frame <c>01</c> command: the worker is (again) free.</summary>
    Ready,

    /// <summary>The one-frame <c>02</c> command: the worker is alive.</summary>
    Heartbeat,

    /// <summary>An address envelope ending in an empty frame, then at least one body frame.</summary>
    Reply,
}

/// <summary>
/// Frames and envelopes of the Pirate protocols: Simple Pirate's READY (zguide spqueue/spworker)
/// and PPP (RFC 6: READY <c>01</c>, HEARTBEAT <c>02</c>, REQUEST/REPLY = address stack, empty
/// delimiter, body). Pure functions over <see cref="Message"/>, shared by both queues and workers.
/// </summary>
internal static class PirateProtocol
{
    /// <summary>PPP / Simple Pirate READY octet.</summary>
    public const byte ReadyByte = 0x01;

    /// <summary>PPP HEARTBEAT octet.</summary>
    public const byte HeartbeatByte = 0x02;

    private static readonly byte[] ReadyFrame = [ReadyByte];
    private static readonly byte[] HeartbeatFrame = [HeartbeatByte];

    /// <summary>A fresh one-frame READY message (messages are consumed by sending, so never share one).</summary>
    public static Message Ready() => new Message(1).Append(ReadyFrame);

    /// <summary>A fresh one-frame HEARTBEAT message.</summary>
    public static Message Heartbeat() => new Message(1).Append(HeartbeatFrame);

    /// <summary>A HEARTBEAT addressed through a ROUTER: <c>[worker-id][02]</c>.</summary>
    public static Message Heartbeat(RoutingKey worker) => new Message(2).Append(worker.Memory).Append(HeartbeatFrame);

    /// <summary>Whether <paramref name="frame"/> is exactly the one octet <paramref name="command"/>.</summary>
    public static bool IsCommand(ReadOnlyMemory<byte> frame, byte command) => frame.Length == 1 && frame.Span[0] == command;

    /// <summary>
    /// Index of the empty frame that ends the address envelope starting at <paramref name="start"/>,
    /// or -1 when the frames from <paramref name="start"/> are not "≥ 1 non-empty address frame, an
    /// empty delimiter, ≥ 1 body frame" (the only shape a queue can route back to a client).
    /// </summary>
    public static int FindDelimiter(Message message, int start)
    {
        ArgumentNullException.ThrowIfNull(message);

        // Bounded by the frame count.
        for (int i = start; i < message.Count; i++)
        {
            if (message[i].IsEmpty)
            {
                return i > start && i < message.Count - 1 ? i : -1;
            }
        }

        return -1;
    }

    /// <summary>
    /// Classifies what a worker sent, looking at the frames from <paramref name="start"/> (after the
    /// routing id a ROUTER prepends, and after the empty frame a REQ worker adds).
    /// </summary>
    public static WorkerCommand Classify(Message message, int start, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(message);
        int frames = message.Count - start;
        problem = null;
        if (frames <= 0)
        {
            problem = "no frames after the routing id";
            return WorkerCommand.Invalid;
        }

        if (frames == 1)
        {
            var frame = message[start];
            if (IsCommand(frame, ReadyByte))
            {
                return WorkerCommand.Ready;
            }

            if (IsCommand(frame, HeartbeatByte))
            {
                return WorkerCommand.Heartbeat;
            }

            problem = "unknown one-frame command " + DescribeFrame(frame);
            return WorkerCommand.Invalid;
        }

        if (FindDelimiter(message, start) < 0)
        {
            problem = $"{frames}-frame message without 'address, empty frame, body'";
            return WorkerCommand.Invalid;
        }

        return WorkerCommand.Reply;
    }

    /// <summary>A frame for logs: hex, at most 16 octets.</summary>
    public static string DescribeFrame(ReadOnlyMemory<byte> frame)
    {
        var span = frame.Span;
        return frame.IsEmpty ? "(empty)" : "0x" + Convert.ToHexString(span.Length > 16 ? span[..16] : span) + (span.Length > 16 ? "…" : string.Empty);
    }

    /// <summary>A random printable identity <c>%04X-%04X</c>, as the zguide's Pirate workers use.</summary>
    public static byte[] RandomIdentity() =>
        Encoding.ASCII.GetBytes($"{Random.Shared.Next(0x10000):X4}-{Random.Shared.Next(0x10000):X4}");

    /// <summary>
    /// Splits a request <c>[address…][""][body…]</c> at <paramref name="delimiter"/> (from
    /// <see cref="FindDelimiter"/>) into its envelope (address frames and the delimiter) and its body.
    /// Frames are shared, not copied: they are read-only.
    /// </summary>
    public static (Message Envelope, Message Body) Split(Message message, int delimiter)
    {
        ArgumentNullException.ThrowIfNull(message);
        var envelope = new Message(delimiter + 1);
        var body = new Message(message.Count - delimiter - 1);
        for (int i = 0; i < message.Count; i++)
        {
            (i <= delimiter ? envelope : body).Append(message[i]);
        }

        return (envelope, body);
    }

    /// <summary>
    /// The reply to send back: <paramref name="envelope"/> followed by the handler's result frames
    /// (one empty frame when the result has none, so the client still gets a well-formed reply).
    /// </summary>
    public static Message BuildReply(Message envelope, Message result)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(result);
        var reply = new Message(envelope.Count + Math.Max(1, result.Count));
        foreach (var frame in envelope)
        {
            reply.Append(frame);
        }

        if (result.Count == 0)
        {
            return reply.AppendEmpty();
        }

        foreach (var frame in result)
        {
            reply.Append(frame);
        }

        return reply;
    }
}
