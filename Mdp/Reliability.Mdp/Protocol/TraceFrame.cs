using System.Diagnostics;
using System.Text;

namespace Reliability.Mdp.Protocol;

/// <summary>
/// Our MDP/0.2 extension that carries W3C trace context across the broker (docs/wire/mdp.md §18): a first
/// body frame <c>reliability.trace:</c> + traceparent on a client REQUEST (only from clients told to send it)
/// and on a worker REQUEST (only to workers whose READY carried <see cref="ReadyMarker"/>). The broker strips it
/// from every MDP/0.2 request, so a worker that did not opt in never sees it; MDP/0.1 never carries it.
/// </summary>
internal static class TraceFrame
{
    /// <summary>The extra frame after the service name of an MDP/0.2 READY: the worker accepts trace frames.</summary>
    public static ReadOnlySpan<byte> ReadyMarker => "reliability.trace"u8;

    private static ReadOnlySpan<byte> Prefix => "reliability.trace:"u8;

    // traceparent version 00: "00-" 32 hex "-" 16 hex "-" 2 hex.
    private const int TraceParentLength = 55;

    private const int Length = 18 + TraceParentLength;

    /// <summary>Whether <paramref name="frame"/> is a trace frame (exact length and prefix; the content is checked on decode).</summary>
    public static bool Is(ReadOnlySpan<byte> frame) => frame.Length == Length && frame.StartsWith(Prefix);

    /// <summary>The frame for <paramref name="context"/>.</summary>
    public static byte[] Encode(ActivityContext context)
    {
        var frame = new byte[Length];
        Prefix.CopyTo(frame);
        string traceParent = $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";
        Encoding.ASCII.GetBytes(traceParent, frame.AsSpan(Prefix.Length));
        return frame;
    }

    /// <summary>Reads the context of a frame <see cref="Is"/> accepted; false (and a default context) when its traceparent is malformed.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> frame, out ActivityContext context)
    {
        context = default;
        return Is(frame) && ActivityContext.TryParse(Encoding.ASCII.GetString(frame[Prefix.Length..]), null, isRemote: true, out context);
    }

    /// <summary>The body without a leading trace frame; <paramref name="frame"/> is that frame, or empty when there was none.</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> Strip(IReadOnlyList<ReadOnlyMemory<byte>> body, out ReadOnlyMemory<byte> frame)
    {
        if (body.Count > 0 && Is(body[0].Span))
        {
            frame = body[0];
            return FrameList.Slice(body, 1);
        }

        frame = default;
        return body;
    }

    /// <summary><paramref name="frame"/> followed by <paramref name="body"/>.</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> Prepend(ReadOnlyMemory<byte> frame, IReadOnlyList<ReadOnlyMemory<byte>> body)
    {
        var frames = new ReadOnlyMemory<byte>[body.Count + 1];
        frames[0] = frame;
        for (int i = 0; i < body.Count; i++)
        {
            frames[i + 1] = body[i];
        }

        return FrameList.From(frames);
    }
}
