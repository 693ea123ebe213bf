using System.Text;

namespace Reliability.Mdp.Protocol;

/// <summary>
/// The reply body a worker sends when its handler failed (docs/wire/mdp.md §17): two frames, the marker
/// <see cref="Marker"/> and the exception's type name. Plain MDP to the broker and to other clients; ours
/// recognise it and fail the request with <see cref="Client.MdpFailure.HandlerFailed"/>.
/// </summary>
internal static class HandlerFailureReply
{
    /// <summary>The first frame of a failure reply.</summary>
    public const string Marker = "reliability.handler-failed";

    private static readonly byte[] MarkerBytes = Encoding.ASCII.GetBytes(Marker);

    /// <summary>The failure reply for <paramref name="exception"/> (only its type's name travels, never its message).</summary>
    public static ReadOnlyMemory<byte>[] Build(Exception exception) =>
        [MarkerBytes, Encoding.UTF8.GetBytes(exception.GetType().Name)];

    /// <summary>Whether <paramref name="body"/> is a failure reply; <paramref name="exceptionType"/> is the failed handler's exception type name then.</summary>
    public static bool TryRead(IReadOnlyList<ReadOnlyMemory<byte>> body, out string exceptionType)
    {
        if (body.Count == 2 && body[0].Span.SequenceEqual(MarkerBytes))
        {
            exceptionType = Encoding.UTF8.GetString(body[1].Span);
            return true;
        }

        exceptionType = string.Empty;
        return false;
    }
}
