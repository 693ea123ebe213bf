using System.Buffers.Binary;
using System.Text;

namespace Reliability.Transport.Zmtp;

/// <summary>
/// ZMTP command bodies: <c>name-len(1) name data</c> (docs/wire/zmtp.md §5-§9). Pure functions, no I/O.
/// </summary>
internal static class Commands
{
    /// <summary>Longest PING context a peer may send and we echo (RFC 37; libzmq truncates to 16).</summary>
    public const int MaxPingContext = 16;

    public static ReadOnlySpan<byte> ReadyName => "READY"u8;

    public static ReadOnlySpan<byte> ErrorName => "ERROR"u8;

    public static ReadOnlySpan<byte> PingName => "PING"u8;

    public static ReadOnlySpan<byte> PongName => "PONG"u8;

    public static ReadOnlySpan<byte> SubscribeName => "SUBSCRIBE"u8;

    public static ReadOnlySpan<byte> HelloName => "HELLO"u8;

    public static ReadOnlySpan<byte> WelcomeName => "WELCOME"u8;

    public static ReadOnlySpan<byte> InitiateName => "INITIATE"u8;

    /// <summary>PLAIN HELLO data (RFC 24): <c>username-len(1) username password-len(1) password</c>.</summary>
    public static byte[] BuildHelloData(string userName, string password)
    {
        byte[] user = System.Text.Encoding.UTF8.GetBytes(userName);
        byte[] pass = System.Text.Encoding.UTF8.GetBytes(password);
        return [(byte)user.Length, .. user, (byte)pass.Length, .. pass];
    }

    public static bool TryParseHello(ReadOnlySpan<byte> data, out string userName, out string password)
    {
        userName = password = string.Empty;
        if (data.Length < 1 || data.Length < 1 + data[0] + 1)
        {
            return false;
        }

        int userLength = data[0];
        int passLength = data[1 + userLength];
        if (data.Length != 1 + userLength + 1 + passLength)
        {
            return false;
        }

        userName = System.Text.Encoding.UTF8.GetString(data.Slice(1, userLength));
        password = System.Text.Encoding.UTF8.GetString(data.Slice(2 + userLength, passLength));
        return true;
    }

    public static ReadOnlySpan<byte> CancelName => "CANCEL"u8;

    /// <summary>Command body (no frame header) of SUBSCRIBE or CANCEL for <paramref name="topic"/> (ZMTP 3.1).</summary>
    public static byte[] BuildSubscriptionBody(bool subscribe, ReadOnlySpan<byte> topic)
    {
        var name = subscribe ? SubscribeName : CancelName;
        var body = new byte[1 + name.Length + topic.Length];
        body[0] = (byte)name.Length;
        name.CopyTo(body.AsSpan(1));
        topic.CopyTo(body.AsSpan(1 + name.Length));
        return body;
    }

    /// <summary>The ZMTP 3.0 form of a subscription: a one-frame message <c>01 topic</c> or <c>00 topic</c>.</summary>
    public static byte[] BuildSubscriptionMessage(bool subscribe, ReadOnlySpan<byte> topic)
    {
        var frame = new byte[1 + topic.Length];
        frame[0] = subscribe ? (byte)1 : (byte)0;
        topic.CopyTo(frame.AsSpan(1));
        return frame;
    }

    /// <summary>The canonical property names; libzmq matches these case-sensitively, so we always emit them so.</summary>
    public const string SocketTypeProperty = "Socket-Type";
    public const string IdentityProperty = "Identity";

    /// <summary>Builds a whole READY command frame (header included) with Socket-Type and, when given, Identity.</summary>
    public static byte[] BuildReadyFrame(string socketType, ReadOnlySpan<byte> identity, bool includeIdentity) =>
        BuildCommandFrame(ReadyName, BuildMetadata(socketType, identity, includeIdentity));

    /// <summary>Our metadata properties (READY, and PLAIN's INITIATE): Socket-Type and, when given, Identity.</summary>
    public static byte[] BuildMetadata(string socketType, ReadOnlySpan<byte> identity, bool includeIdentity)
    {
        var properties = new List<KeyValuePair<string, byte[]>>
        {
            new(SocketTypeProperty, Encoding.ASCII.GetBytes(socketType)),
        };
        if (includeIdentity)
        {
            properties.Add(new(IdentityProperty, identity.ToArray()));
        }

        return EncodeProperties(properties);
    }

    /// <summary>Encodes metadata properties: <c>name-len(1) name value-len(4 BE) value</c> each.</summary>
    public static byte[] EncodeProperties(IEnumerable<KeyValuePair<string, byte[]>> properties)
    {
        using var body = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        foreach (var (name, value) in properties)
        {
            byte[] nameBytes = Encoding.ASCII.GetBytes(name);
            if (nameBytes.Length is 0 or > 255)
            {
                throw new ArgumentException($"Property name '{name}' must be 1..255 octets.", nameof(properties));
            }

            body.WriteByte((byte)nameBytes.Length);
            body.Write(nameBytes);
            BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
            body.Write(length);
            body.Write(value);
        }

        return body.ToArray();
    }

    /// <summary>Builds a command frame: header, name length, name, data.</summary>
    public static byte[] BuildCommandFrame(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data)
    {
        int bodyLength = 1 + name.Length + data.Length;
        int headerLength = FrameHeader.LengthFor(bodyLength);
        var frame = new byte[headerLength + bodyLength];
        FrameHeader.Write(frame, bodyLength, more: false, command: true);
        frame[headerLength] = (byte)name.Length;
        name.CopyTo(frame.AsSpan(headerLength + 1));
        data.CopyTo(frame.AsSpan(headerLength + 1 + name.Length));
        return frame;
    }

    /// <summary>PING with our TTL (deciseconds, capped at 6553.5 s) and no context, as libzmq sends it.</summary>
    public static byte[] BuildPingFrame(TimeSpan ttl)
    {
        ushort deciseconds = (ushort)Math.Min(ushort.MaxValue, ttl.Ticks / (TimeSpan.TicksPerMillisecond * 100));
        return BuildCommandFrame(PingName, [(byte)(deciseconds >> 8), (byte)deciseconds]);
    }

    /// <summary>PONG echoing at most 16 octets of the PING's context.</summary>
    public static byte[] BuildPongFrame(ReadOnlySpan<byte> pingData)
    {
        // PING data = ttl(2) context(0..16)
        var context = pingData.Length > 2 ? pingData[2..] : [];
        if (context.Length > MaxPingContext)
        {
            context = context[..MaxPingContext];
        }

        return BuildCommandFrame(PongName, context);
    }

    /// <summary>Splits a command body into name and data; false when the body is malformed.</summary>
    public static bool TrySplit(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> data)
    {
        name = default;
        data = default;
        if (body.Length < 1 || body[0] == 0 || body.Length < 1 + body[0])
        {
            return false;
        }

        name = body.Slice(1, body[0]);
        data = body[(1 + body[0])..];
        return true;
    }

    /// <summary>
    /// Parses a READY property list. Names are compared case-insensitively (RFC 37) for the two we use.
    /// Returns null and a reason when the list is malformed.
    /// </summary>
    public static ReadyProperties? ParseReady(ReadOnlySpan<byte> data, out string? error)
    {
        string? socketType = null;
        byte[]? identity = null;
        var other = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (!data.IsEmpty)
        {
            int nameLength = data[0];
            if (nameLength == 0 || data.Length < 1 + nameLength + 4)
            {
                error = "truncated or empty property name";
                return null;
            }

            string name = Encoding.ASCII.GetString(data.Slice(1, nameLength));
            int valueLength = BinaryPrimitives.ReadInt32BigEndian(data.Slice(1 + nameLength, 4));
            int valueOffset = 1 + nameLength + 4;
            if (valueLength < 0 || data.Length - valueOffset < valueLength)
            {
                error = $"property '{name}' value length {valueLength} exceeds the command";
                return null;
            }

            var value = data.Slice(valueOffset, valueLength);
            if (name.Equals(SocketTypeProperty, StringComparison.OrdinalIgnoreCase))
            {
                socketType = Encoding.ASCII.GetString(value);
            }
            else if (name.Equals(IdentityProperty, StringComparison.OrdinalIgnoreCase))
            {
                if (value.Length > 255)
                {
                    error = "Identity longer than 255 octets";
                    return null;
                }

                identity = value.ToArray();
            }
            else
            {
                other[name] = value.ToArray();
            }

            data = data[(valueOffset + valueLength)..];
        }

        error = null;
        return new ReadyProperties(socketType, identity ?? [], other);
    }

    /// <summary>Reason text of an ERROR command: <c>reason-len(1) reason</c>.</summary>
    public static string ParseErrorReason(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return string.Empty;
        }

        int length = Math.Min(data[0], data.Length - 1);
        return Encoding.ASCII.GetString(data.Slice(1, length));
    }
}

/// <summary>What a peer told us in READY.</summary>
internal sealed record ReadyProperties(string? SocketType, byte[] Identity, IReadOnlyDictionary<string, byte[]> Other);
