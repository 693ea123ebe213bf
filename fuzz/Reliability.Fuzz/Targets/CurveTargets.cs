using Reliability.Transport;
using Reliability.Transport.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Fuzz.Targets;

/// <summary>
/// The CURVE handshake and MESSAGE boxes. Random bytes never open a box, so apart from HELLO (which
/// is fuzzed raw) each command is made for real by a fresh handshake and then edited by the input:
/// the input is a list of (position, XOR mask) edits and a final length change. That reaches every
/// check — lengths, names, versions, nonces, cookie, vouch, metadata — with commands that are right
/// except where the input says.
/// </summary>
internal static class CurveTargets
{
    private static readonly byte[] ServerPublic = Z85.Decode("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    private static readonly byte[] ServerSecret = Z85.Decode("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6");
    private static readonly byte[] ClientPublic = Z85.Decode("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
    private static readonly byte[] ClientSecret = Z85.Decode("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs");

    private enum Step : byte
    {
        Hello,
        Initiate,
        Welcome,
        Ready,
        Message,
    }

    public static FuzzTarget Handshake()
    {
        // MESSAGE boxes are opened on one established session per thread: a handshake per input
        // would cost five key agreements, and a refused MESSAGE leaves the session as it was.
        var established = new ThreadLocal<(CurveClient Client, CurveServer Server)>(() =>
        {
            var (client, server) = NewPair();
            server.ProcessInitiate(client.ProcessWelcome(server.ProcessHello(client.CreateHello())));
            client.ProcessReady(server.CreateReady());
            return (client, server);
        });

        return new(
            "curve",
            "the CURVE mechanism: HELLO raw, and INITIATE, WELCOME, READY and MESSAGE made by a real handshake and then edited (first octet picks which)",
            input =>
            {
                if (input.Length == 0)
                {
                    return;
                }

                var edits = input.AsSpan(1);
                var step = (Step)(input[0] % 5);
                if (step == Step.Message)
                {
                    var (sender, receiver) = established.Value;
                    var frame = receiver.Decode(Edit(sender.Encode("payload"u8, more: true, command: false), edits));
                    if (edits.IsEmpty && (!frame.More || !frame.Payload.Span.SequenceEqual("payload"u8)))
                    {
                        throw new PropertyViolationException("an untouched MESSAGE did not open to what was boxed");
                    }

                    return;
                }

                var (client, server) = NewPair();
                using (client)
                using (server)
                {
                    switch (step)
                    {
                        case Step.Hello:
                            server.ProcessHello(edits);
                            break;
                        case Step.Welcome:
                            client.ProcessWelcome(Edit(server.ProcessHello(client.CreateHello()), edits));
                            break;
                        case Step.Initiate:
                            server.ProcessInitiate(Edit(client.ProcessWelcome(server.ProcessHello(client.CreateHello())), edits));
                            break;
                        default:
                            server.ProcessInitiate(client.ProcessWelcome(server.ProcessHello(client.CreateHello())));
                            client.ProcessReady(Edit(server.CreateReady(), edits));
                            break;
                    }
                }
            },
            Seeds);
    }

    private static (CurveClient Client, CurveServer Server) NewPair() =>
        (new CurveClient(ServerPublic, ClientPublic, ClientSecret, Commands.BuildMetadata("DEALER", [], includeIdentity: false)),
         new CurveServer(ServerPublic, ServerSecret, Commands.BuildMetadata("ROUTER", [], includeIdentity: false)));

    /// <summary>
    /// Applies the input's edits: triples of (position high, position low, XOR mask); one or two
    /// octets left over make a signed length change (cut or zero-padded) of the command.
    /// </summary>
    private static byte[] Edit(byte[] command, ReadOnlySpan<byte> edits)
    {
        var edited = new List<byte>(command);
        int triples = edits.Length / 3;
        for (int i = 0; i < triples && edited.Count > 0; i++)
        {
            var edit = edits.Slice(3 * i, 3);
            edited[((edit[0] << 8) | edit[1]) % edited.Count] ^= edit[2];
        }

        if (edits.Length % 3 != 0)
        {
            int change = (sbyte)edits[^1];
            if (change < 0)
            {
                edited.RemoveRange(Math.Max(0, edited.Count + change), Math.Min(-change, edited.Count));
            }
            else
            {
                edited.AddRange(new byte[change]);
            }
        }

        return edited.ToArray();
    }

    private static IEnumerable<byte[]> Seeds()
    {
        var (client, server) = NewPair();
        using (client)
        using (server)
        {
            yield return [(byte)Step.Hello, .. client.CreateHello()];
        }

        foreach (var step in new[] { Step.Initiate, Step.Welcome, Step.Ready, Step.Message })
        {
            yield return [(byte)step];                 // the command untouched
            yield return [(byte)step, 0, 0, 0x01];            // its first octet changed
            yield return [(byte)step, 0, 100, 0x80, 0xF0];    // a bit flipped and 16 octets cut
        }
    }
}
