using Reliability.Transport;
using Reliability.Transport.Internal;
using Reliability.Transport.Zmtp;
using ZmtpGreeting = Reliability.Transport.Zmtp.Greeting;

namespace Reliability.Fuzz.Targets;

/// <summary>The ZMTP layer: greetings of every generation, the frame decoder, and handshake commands.</summary>
internal static class TransportTargets
{
    /// <summary>The frame decoder's message limit under fuzzing: the broker's default.</summary>
    public const long MaxMessageSize = 1024 * 1024;

    public static FuzzTarget Greeting() => new(
        "zmtp-greeting",
        "the first octets of a connection: the signature classified octet by octet as it arrives (ZMTP 1.0, 2.0, 3.x), then a 3.x greeting checked against each mechanism",
        input =>
        {
            for (int length = 0; length <= Math.Min(input.Length, ZmtpGreeting.Length); length++)
            {
                if (LegacyGreeting.Classify(input.AsSpan(0, length), out _) is not PeerSignature.Incomplete)
                {
                    break;
                }
            }

            if (input.Length >= ZmtpGreeting.Length)
            {
                var greeting = input.AsSpan(0, ZmtpGreeting.Length);
                ZmtpGreeting.Parse(greeting, ZmtpGreeting.NullMechanism);
                ZmtpGreeting.Parse(greeting, ZmtpGreeting.PlainMechanism);
                ZmtpGreeting.Parse(greeting, ZmtpGreeting.CurveMechanism);
            }
        },
        GreetingSeeds);

    /// <summary>
    /// The decoder as a connection drives it: the first octet picks the framing (bit 0: ZMTP/1.0) and
    /// how many octets arrive per read (so frames are split across reads at every position); the
    /// rest is the stream.
    /// </summary>
    public static FuzzTarget Frames() => new(
        "zmtp-frames",
        "the frame decoder: headers, multipart messages, commands (PING, SUBSCRIBE, CANCEL), the size limit and frames larger than the receive buffer",
        input =>
        {
            if (input.Length == 0)
            {
                return;
            }

            var sink = new CountingSink();
            var pipe = new Pipe("tcp://fuzz", isConnectSide: false, sendHighWaterMark: 16, receiveHighWaterMark: 1000);
            var decoder = new ZmtpDecoder(sink, MaxMessageSize, _ => { }) { Zmtp1Framing = (input[0] & 1) != 0 };
            int chunk = 1 + ((input[0] >> 1) * 131 % 8192);
            var stream = input.AsSpan(1);
            while (!stream.IsEmpty)
            {
                var space = decoder.SpaceToRead().Span;
                int n = Math.Min(Math.Min(space.Length, chunk), stream.Length);
                stream[..n].CopyTo(space);
                stream = stream[n..];
                decoder.Commit(n);

                var largeFrameRest = decoder.DecodeBuffered(pipe);
                while (!largeFrameRest.IsEmpty)
                {
                    // The body arrives in pieces: its array grows as they come.
                    while (!largeFrameRest.IsEmpty)
                    {
                        if (stream.IsEmpty)
                        {
                            return; // the peer closed in the middle of a frame
                        }

                        int piece = Math.Min(Math.Min(largeFrameRest.Length, chunk), stream.Length);
                        stream[..piece].CopyTo(largeFrameRest.Span);
                        stream = stream[piece..];
                        largeFrameRest = decoder.LargeFrameRead(piece);
                    }

                    decoder.CompleteLargeFrame(pipe);
                    largeFrameRest = decoder.DecodeBuffered(pipe);
                }
            }
        },
        FrameSeeds)
    {
        // The limit may be taken at once by one large frame; a stream of empty frames costs a Message per two octets.
        AllocationAllowance = MaxMessageSize + (512 * 1024),
        AllocationPerInputOctet = 64,
    };

    public static FuzzTarget HandshakeCommands() => new(
        "zmtp-commands",
        "a command body split into name and data, and the data read as each handshake command reads it: READY/INITIATE metadata, PLAIN HELLO, ERROR",
        input =>
        {
            if (Commands.TrySplit(input, out _, out var data))
            {
                ReadCommandData(data);
            }

            ReadCommandData(input);
        },
        CommandSeeds);

    private static void ReadCommandData(ReadOnlySpan<byte> data)
    {
        if (Commands.ParseReady(data, out var error) is null && error is null)
        {
            throw new PropertyViolationException("ParseReady refused metadata without saying why");
        }

        _ = Commands.TryParseHello(data, out _, out _);
        Commands.ParseErrorReason(data);
    }

    private static IEnumerable<byte[]> GreetingSeeds()
    {
        foreach (var mechanism in new[] { "NULL"u8.ToArray(), "PLAIN"u8.ToArray(), "CURVE"u8.ToArray() })
        {
            foreach (bool asServer in new[] { false, true })
            {
                var greeting = new byte[ZmtpGreeting.Length];
                ZmtpGreeting.Write(greeting, mechanism, asServer);
                yield return greeting;
            }
        }

        var v2 = new byte[LegacyGreeting.V2Length];
        LegacyGreeting.WriteSignature(v2, identityLength: 0);
        v2[10] = LegacyGreeting.LastV2Revision;
        v2[11] = LegacyGreeting.TypeCode(SocketType.Dealer);
        yield return v2;
        yield return [0x01, 0x00];                // a ZMTP/1.0 anonymous identity frame
        yield return "GET / HTTP/1.1\r\n\r\n"u8.ToArray();
    }

    private static IEnumerable<byte[]> FrameSeeds()
    {
        var v3 = new List<byte> { 0 };
        AddFrame(v3, "hello"u8, more: false, command: false);
        AddFrame(v3, ReadOnlySpan<byte>.Empty, more: true, command: false);
        AddFrame(v3, "second"u8, more: true, command: false);
        AddFrame(v3, new byte[300], more: false, command: false);
        v3.AddRange(Commands.BuildPingFrame(TimeSpan.FromSeconds(3)));
        AddFrame(v3, Commands.BuildSubscriptionBody(subscribe: true, "topic"u8), more: false, command: true);
        AddFrame(v3, Commands.BuildSubscriptionBody(subscribe: false, "topic"u8), more: false, command: true);
        yield return v3.ToArray();

        // The same frame in the 8-octet length form, which is legal for a small body too.
        yield return [0x10, 0x02, 0, 0, 0, 0, 0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c'];

        // A frame larger than the receive buffer, read into its own array.
        var large = new List<byte> { 0x40 };
        AddFrame(large, new byte[70_000], more: false, command: false);
        yield return large.ToArray();

        var v1 = new List<byte> { 1 };
        var header = new byte[FrameHeader.MaxLength];
        foreach (var (body, more) in new[] { ("a"u8.ToArray(), true), ("bc"u8.ToArray(), false) })
        {
            v1.AddRange(header.AsSpan(0, FrameHeader.WriteV1(header, body.Length, more)).ToArray());
            v1.AddRange(body);
        }

        yield return v1.ToArray();
    }

    private static void AddFrame(List<byte> stream, ReadOnlySpan<byte> body, bool more, bool command)
    {
        var header = new byte[FrameHeader.MaxLength];
        stream.AddRange(header.AsSpan(0, FrameHeader.Write(header, body.Length, more, command)).ToArray());
        stream.AddRange(body.ToArray());
    }

    private static IEnumerable<byte[]> CommandSeeds()
    {
        yield return Command("READY"u8, Commands.BuildMetadata("ROUTER", "id"u8, includeIdentity: true));
        yield return Command("INITIATE"u8, Commands.BuildMetadata("DEALER", [], includeIdentity: false));
        yield return Command("HELLO"u8, Commands.BuildHelloData("admin", "secret"));
        yield return Command("ERROR"u8, [6, .. "denied"u8]);
        yield return Commands.BuildSubscriptionBody(subscribe: true, "news"u8);
    }

    private static byte[] Command(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data) => [(byte)name.Length, .. name, .. data];

    /// <summary>Counts what the decoder delivers; the batch is the decoder's to reuse.</summary>
    private sealed class CountingSink : IInboundSink
    {
        public long Messages { get; private set; }

        public bool InterceptsInbound => false;

        public bool InterceptInbound(Pipe pipe, Message message) => false;

        public void DeliverInbound(Pipe pipe, List<Delivery> batch) => Messages += batch.Count;

        public bool TryHandleSubscriptionCommand(Pipe pipe, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data) => true;
    }
}
