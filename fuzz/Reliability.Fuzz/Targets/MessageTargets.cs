using System.Text;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Titanic;
using Reliability.Patterns.BinaryStar;
using Reliability.Patterns.Freelance;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Fuzz.Targets;

/// <summary>
/// The parsers above the transport. Each gets a multipart message (see <see cref="FrameEncoding"/>)
/// and must answer with a result — none of them may throw for any message a peer can send.
/// </summary>
internal static class MessageTargets
{
    public static FuzzTarget Majordomo() => new(
        "mdp",
        "MDP/0.1 and MDP/0.2 parsing as the broker, the worker, and the REQ and DEALER clients read their input, and MMI status replies",
        input =>
        {
            var message = FrameEncoding.Decode(input);
            MdpCodec.ParseAtBroker(message);
            MdpCodec.ParseAtWorker(message);
            MdpCodec.ParseAtClient(message, MdpClientSocket.Req);
            MdpCodec.ParseAtClient(message, MdpClientSocket.Dealer);
            Mmi.ReadStatus(FrameEncoding.Frames(message));
        },
        MajordomoSeeds);

    public static FuzzTarget Pirate() => new(
        "ppp",
        "the Paranoid Pirate queue's reading of worker messages (READY, HEARTBEAT, replies with their envelope)",
        input =>
        {
            var message = FrameEncoding.Decode(input);
            for (int start = 0; start <= Math.Min(2, message.Count); start++)
            {
                if (PirateProtocol.Classify(message, start, out _) == WorkerCommand.Reply)
                {
                    int delimiter = PirateProtocol.FindDelimiter(message, start);
                    if (delimiter >= 0)
                    {
                        PirateProtocol.Split(message, delimiter);
                    }
                }
            }
        },
        () =>
        [
            FrameEncoding.Encode("worker-1"u8.ToArray(), new byte[] { 0x01 }),
            FrameEncoding.Encode("worker-1"u8.ToArray(), new byte[] { 0x02 }),
            FrameEncoding.Encode("worker-1"u8.ToArray(), "client-7"u8.ToArray(), Array.Empty<byte>(), "reply"u8.ToArray()),
        ]);

    public static FuzzTarget Freelance() => new(
        "freelance",
        "Freelance control frames as the client and the server read them: PING, PONG, sequence numbers",
        input =>
        {
            var message = FrameEncoding.Decode(input);
            for (int index = 0; index <= Math.Min(2, message.Count); index++)
            {
                // Leading zeros are accepted (the zguide's client reads the number with atoi), so the
                // property is that what we print for a sequence reads back as that sequence.
                if (FreelanceProtocol.Classify(message, index, out long sequence) == FreelanceFrame.Sequence
                    && (sequence < 0 || !FreelanceProtocol.TryParseSequence(FreelanceProtocol.SequenceFrame(sequence), out long again) || again != sequence))
                {
                    throw new PropertyViolationException($"sequence {sequence} does not read back from its own frame");
                }
            }
        },
        () =>
        [
            FrameEncoding.Encode("tcp://127.0.0.1:5555"u8.ToArray(), "PING"u8.ToArray()),
            FrameEncoding.Encode("client"u8.ToArray(), "PONG"u8.ToArray()),
            FrameEncoding.Encode("client"u8.ToArray(), "42"u8.ToArray(), "body"u8.ToArray()),
        ]);

    public static FuzzTarget Titanic() => new(
        "titanic",
        "the Titanic service's reading of titanic.request / titanic.reply / titanic.close bodies and of its replies",
        input =>
        {
            var message = FrameEncoding.Decode(input);
            _ = Tsp.TryParseRequest(message, out _, out _);
            if (Tsp.TryParseId(message, out string id) && !Tsp.IsId(id))
            {
                throw new PropertyViolationException($"'{id}' was read as an id but is not one");
            }

            Tsp.StatusOf(message);
        },
        () =>
        [
            FrameEncoding.Encode("echo"u8.ToArray(), "hello"u8.ToArray()),
            FrameEncoding.Encode("0123456789ABCDEF0123456789ABCDEF"u8.ToArray()),
            FrameEncoding.Encode("200"u8.ToArray(), "reply"u8.ToArray()),
            FrameEncoding.Encode("300"u8.ToArray()),
        ]);

    public static FuzzTarget BinaryStar() => new(
        "binary-star",
        "a Binary Star peer's state message",
        input => _ = BinaryStarNode.TryParseState(FrameEncoding.Decode(input), out _),
        () => [FrameEncoding.Encode("1"u8.ToArray()), FrameEncoding.Encode("4"u8.ToArray())]);

    public static FuzzTarget Z85Text() => new(
        "z85",
        "Z85 key text (as read from options and certificate files): what decodes must encode back to the same text",
        input =>
        {
            string text = Encoding.Latin1.GetString(input);
            if (Z85.TryDecode(text, out var data) && Z85.Encode(data) != text)
            {
                throw new PropertyViolationException($"'{text}' decodes but does not encode back to itself");
            }
        },
        () => [Encoding.ASCII.GetBytes("HelloWorld"), Encoding.ASCII.GetBytes("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7")]);

    private static IEnumerable<byte[]> MajordomoSeeds()
    {
        byte[] id = "client-1"u8.ToArray();
        byte[] empty = [];
        yield return FrameEncoding.Encode(id, empty, "MDPC01"u8.ToArray(), "echo"u8.ToArray(), "hello"u8.ToArray());
        yield return FrameEncoding.Encode(id, empty, "MDPW01"u8.ToArray(), new byte[] { 0x01 }, "echo"u8.ToArray());
        yield return FrameEncoding.Encode(id, empty, "MDPW01"u8.ToArray(), new byte[] { 0x03 }, "client-1"u8.ToArray(), empty, "reply"u8.ToArray());
        yield return FrameEncoding.Encode(id, empty, "MDPW01"u8.ToArray(), new byte[] { 0x04 });
        yield return FrameEncoding.Encode(empty, "MDPW01"u8.ToArray(), new byte[] { 0x02 }, "client-1"u8.ToArray(), empty, "request"u8.ToArray());
        yield return FrameEncoding.Encode(empty, "MDPC01"u8.ToArray(), "echo"u8.ToArray(), "reply"u8.ToArray());
        yield return FrameEncoding.Encode(id, "MDPC02"u8.ToArray(), new byte[] { 0x01 }, "echo"u8.ToArray(), "hello"u8.ToArray());
        yield return FrameEncoding.Encode(id, "MDPW02"u8.ToArray(), new byte[] { 0x04 }, "client-1"u8.ToArray(), "final"u8.ToArray());
        yield return FrameEncoding.Encode("MDPC02"u8.ToArray(), new byte[] { 0x03 }, "echo"u8.ToArray(), "final"u8.ToArray());
        yield return FrameEncoding.Encode(empty, "MDPC01"u8.ToArray(), "mmi.service"u8.ToArray(), "200"u8.ToArray());
    }
}
