using System.Text;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic;

/// <summary>
/// The Titanic Service Protocol (RFC 9, docs/patterns/titanic.md): three Majordomo services and the
/// status codes of their replies. Every reply starts with one status frame; the code is its first three
/// characters (anything after them is free text).
/// </summary>
public static class Tsp
{
    /// <summary>Stores a request: body <c>[service][request frames…]</c>, reply <c>["200"][id]</c>.</summary>
    public const string RequestService = "titanic.request";

    /// <summary>Fetches a reply: body <c>[id]</c>, reply <c>["200"][reply frames…]</c>, <c>["300"]</c> or <c>["400"]</c>.</summary>
    public const string ReplyService = "titanic.reply";

    /// <summary>Forgets a request and its reply: body <c>[id]</c>, reply <c>["200"]</c> (also for unknown ids).</summary>
    public const string CloseService = "titanic.close";

    /// <summary>Success.</summary>
    public const string Ok = "200";

    /// <summary>The reply is not there yet; ask again later.</summary>
    public const string Pending = "300";

    /// <summary>Unknown request id, or a malformed request; do not retry.</summary>
    public const string Unknown = "400";

    /// <summary>The service failed or is full (for <c>titanic.request</c>: the store holds its maximum); retry later.</summary>
    public const string Error = "500";

    /// <summary>Length of a request id: 32 hexadecimal characters.</summary>
    public const int IdLength = 32;

    /// <summary>The status code (first three characters) of a TSP reply, or null when it has no status frame.</summary>
    internal static string? StatusOf(Message reply)
    {
        if (reply.Count == 0 || reply[0].Length < 3)
        {
            return null;
        }

        return Encoding.ASCII.GetString(reply[0].Span[..3]);
    }

    /// <summary>Whether <paramref name="id"/> has the shape of a request id (32 hex digits, either case).</summary>
    internal static bool IsId(ReadOnlySpan<char> id)
    {
        if (id.Length != IdLength)
        {
            return false;
        }

        foreach (char c in id)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A fresh request id: a random UUID as 32 upper-case hex digits, the form the zguide's titanic hands out.</summary>
    internal static string NewId() => Guid.NewGuid().ToString("N").ToUpperInvariant();

    /// <summary>The <c>titanic.request</c> body: <c>[service][request frames…]</c>.</summary>
    internal static Message RequestBody(string service, Message request)
    {
        var body = new Message(request.Count + 1).Append(service);
        foreach (var frame in request)
        {
            body.Append(frame);
        }

        return body;
    }

    /// <summary>The <c>titanic.reply</c> and <c>titanic.close</c> body: <c>[id]</c>.</summary>
    internal static Message IdBody(string id) => Message.FromStrings(id);

    /// <summary>A reply made of one status frame (<c>["300"]</c>, <c>["400"]</c>, <c>["500"]</c>, or <c>["200"]</c> for close).</summary>
    internal static Message StatusReply(string status) => Message.FromStrings(status);

    /// <summary>The <c>titanic.request</c> success reply: <c>["200"][id]</c>.</summary>
    internal static Message StoredReply(string id) => Message.FromStrings(Ok, id);

    /// <summary>The <c>titanic.reply</c> success reply: <c>["200"][reply frames…]</c>.</summary>
    internal static Message FoundReply(Message reply)
    {
        var message = new Message(reply.Count + 1).Append(Ok);
        foreach (var frame in reply)
        {
            message.Append(frame);
        }

        return message;
    }

    /// <summary>
    /// Splits a <c>titanic.request</c> body into the target service and the request frames; false when it has
    /// fewer than two frames or the service name is not one the broker accepts (empty, too long, not UTF-8, control characters).
    /// </summary>
    internal static bool TryParseRequest(Message body, out string service, out Message request)
    {
        service = string.Empty;
        request = new Message();
        if (body.Count < 2 || MdpFrames.CheckServiceName(body[0].Span) is not null)
        {
            return false;
        }

        service = Encoding.UTF8.GetString(body[0].Span);

        request = new Message(body.Count - 1);
        for (int i = 1; i < body.Count; i++)
        {
            request.Append(body[i]);
        }

        return true;
    }

    /// <summary>
    /// Reads the id of a <c>titanic.reply</c> or <c>titanic.close</c> body (its first frame; the zguide sends
    /// exactly one), upper-cased so that either case finds the request; false when it is not an id.
    /// </summary>
    internal static bool TryParseId(Message body, out string id)
    {
        id = string.Empty;
        if (body.Count == 0 || body[0].Length != IdLength)
        {
            return false;
        }

        string text = Encoding.ASCII.GetString(body[0].Span);
        if (!IsId(text))
        {
            return false;
        }

        id = text.ToUpperInvariant();
        return true;
    }
}
