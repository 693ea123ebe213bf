using System.Text;
using Reliability.Transport;

namespace Reliability.Mdp.Protocol;

internal static partial class MdpCodec
{
    private enum Header
    {
        Client01,
        Worker01,
        Client02,
        Worker02,
    }

    /// <summary>Whether an MDP/0.1 header must follow an empty delimiter frame, or must not.</summary>
    private enum Delimiter01
    {
        Required,
        Forbidden,
    }

    private enum Op
    {
        Ready,
        Request,
        Reply,
        Partial,
        Final,
        Heartbeat,
        Disconnect,
    }

    /// <summary>
    /// Parses a message received on the broker's ROUTER: <c>[routing-id, ...]</c> followed by a client or worker
    /// command of either version. Yields <see cref="ClientRequest"/> or a worker command a worker may send
    /// (READY, REPLY, PARTIAL, FINAL, HEARTBEAT, DISCONNECT); <see cref="MdpParseResult{TCommand}.Sender"/> is the routing id.
    /// An MDP/0.2 command may be preceded by an empty frame (majortomo sends one).
    /// </summary>
    public static MdpParseResult<MdpCommand> ParseAtBroker(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Count == 0)
        {
            return MdpParseResult<MdpCommand>.Failure("empty message", default);
        }

        var sender = message[0];
        if (sender.IsEmpty)
        {
            return MdpParseResult<MdpCommand>.Failure("frame 0: empty routing id", sender);
        }

        string? error = ReadHeader(message, 1, Delimiter01.Required, out var header, out int at);
        if (error is null)
        {
            MdpCommand? command;
            (command, error) = header switch
            {
                Header.Client01 => ParseClientPayload(message, at + 1, Op.Request),
                Header.Client02 => ParseClient02(message, at + 1, atBroker: true),
                _ => ((MdpCommand?, string?))ParseWorker(message, at + 1, header, atBroker: true),
            };
            if (command is not null)
            {
                return MdpParseResult<MdpCommand>.Success(command, VersionOf(header), sender);
            }
        }

        return MdpParseResult<MdpCommand>.Failure(error!, sender);
    }

    /// <summary>
    /// Parses a message received on a worker's DEALER: MDP/0.1 <c>["", "MDPW01", cmd, ...]</c> or MDP/0.2
    /// <c>["MDPW02", cmd, ...]</c> (with an optional leading empty frame). Yields REQUEST, HEARTBEAT or DISCONNECT.
    /// </summary>
    public static MdpParseResult<MdpWorkerCommand> ParseAtWorker(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        string? error = ReadHeader(message, 0, Delimiter01.Required, out var header, out int at);
        if (error is null)
        {
            if (header is Header.Client01 or Header.Client02)
            {
                error = $"frame {at}: client header {HeaderName(header)} on a worker connection";
            }
            else
            {
                (var command, error) = ParseWorker(message, at + 1, header, atBroker: false);
                if (command is not null)
                {
                    return MdpParseResult<MdpWorkerCommand>.Success(command, VersionOf(header), default);
                }
            }
        }

        return MdpParseResult<MdpWorkerCommand>.Failure(error!, default);
    }

    /// <summary>
    /// Parses a message received by a client. MDP/0.1 on a REQ: <c>["MDPC01", service, body...]</c>; on a DEALER:
    /// <c>["", "MDPC01", service, body...]</c>; both yield <see cref="ClientReply"/>. MDP/0.2:
    /// <c>["MDPC02", 0x02|0x03, service, body...]</c> (optional leading empty frame) yields <see cref="ClientPartial"/> or <see cref="ClientFinal"/>.
    /// </summary>
    public static MdpParseResult<MdpClientCommand> ParseAtClient(Message message, MdpClientSocket socket)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (socket is not (MdpClientSocket.Req or MdpClientSocket.Dealer))
        {
            throw new ArgumentOutOfRangeException(nameof(socket), socket, "Unknown client socket type.");
        }

        var delimiter = socket == MdpClientSocket.Req ? Delimiter01.Forbidden : Delimiter01.Required;
        string? error = ReadHeader(message, 0, delimiter, out var header, out int at);
        if (error is null)
        {
            MdpClientCommand? command = null;
            if (header is Header.Worker01 or Header.Worker02)
            {
                error = $"frame {at}: worker header {HeaderName(header)} on a client connection";
            }
            else
            {
                (command, error) = header == Header.Client01
                    ? ParseClientPayload(message, at + 1, Op.Reply)
                    : ParseClient02(message, at + 1, atBroker: false);
            }

            if (command is not null)
            {
                return MdpParseResult<MdpClientCommand>.Success(command, VersionOf(header), default);
            }
        }

        return MdpParseResult<MdpClientCommand>.Failure(error!, default);
    }

    /// <summary>Finds the protocol header at <paramref name="start"/>, past an empty delimiter frame if there is one.</summary>
    private static string? ReadHeader(Message message, int start, Delimiter01 delimiter01, out Header header, out int at)
    {
        header = default;
        at = start;
        if (at >= message.Count)
        {
            return at == 0 ? "empty message" : $"frame {at}: message ends before the protocol header";
        }

        bool delimited = message[at].IsEmpty;
        if (delimited)
        {
            at++;
            if (at >= message.Count)
            {
                return $"frame {at}: message ends after the empty delimiter, before the protocol header";
            }
        }

        var frame = message[at].Span;
        if (frame.SequenceEqual(MdpFrames.ClientHeader01.Span))
        {
            header = Header.Client01;
        }
        else if (frame.SequenceEqual(MdpFrames.WorkerHeader01.Span))
        {
            header = Header.Worker01;
        }
        else if (frame.SequenceEqual(MdpFrames.ClientHeader02.Span))
        {
            header = Header.Client02;
        }
        else if (frame.SequenceEqual(MdpFrames.WorkerHeader02.Span))
        {
            header = Header.Worker02;
        }
        else
        {
            return $"frame {at}: unknown protocol header {MdpFrames.Describe(frame)}";
        }

        if (header is Header.Client01 or Header.Worker01)
        {
            if (delimiter01 == Delimiter01.Required && !delimited)
            {
                return $"frame {at}: MDP/0.1 header {HeaderName(header)} without the empty delimiter frame before it";
            }

            if (delimiter01 == Delimiter01.Forbidden && delimited)
            {
                return $"frame {start}: unexpected empty frame before {HeaderName(header)} (a REQ socket removes the delimiter)";
            }
        }

        // MDP/0.2 has no delimiter, but majortomo sends one: accept it (docs/wire/mdp.md §5).
        return null;
    }

    /// <summary>Reads the one-byte command frame at <paramref name="at"/>.</summary>
    private static string? ReadCommandByte(Message message, int at, Header header, out byte code)
    {
        code = 0;
        if (at >= message.Count)
        {
            return $"frame {at}: message ends after {HeaderName(header)}, before the command";
        }

        var frame = message[at].Span;
        if (frame.Length != 1)
        {
            return $"frame {at}: command frame must be 1 byte, got {frame.Length}";
        }

        code = frame[0];
        return null;
    }

    private static (MdpClientCommand? Command, string? Error) ParseClient02(Message message, int at, bool atBroker)
    {
        string? error = ReadCommandByte(message, at, Header.Client02, out byte code);
        if (error is not null)
        {
            return (null, error);
        }

        Op? op = code switch
        {
            Mdp02.ClientRequest => Op.Request,
            Mdp02.ClientPartial => Op.Partial,
            Mdp02.ClientFinal => Op.Final,
            _ => null,
        };
        if (op is not { } known)
        {
            return (null, $"frame {at}: unknown client command 0x{code:X2}");
        }

        if ((known == Op.Request) != atBroker)
        {
            return (null, $"frame {at}: {OpName(known)} (0x{code:X2}) is sent by {(atBroker ? "the broker, not by a client" : "a client, not by the broker")}");
        }

        return ParseClientPayload(message, at + 1, known);
    }

    /// <summary>Service name then body: the same layout for every client command of both versions.</summary>
    private static (MdpClientCommand? Command, string? Error) ParseClientPayload(Message message, int at, Op op)
    {
        string? error = ReadServiceName(message, at, op, out string? service);
        if (error is not null)
        {
            return (null, error);
        }

        var body = FrameList.Slice(message, at + 1);
        MdpClientCommand command = op switch
        {
            Op.Request => new ClientRequest(service!, body),
            Op.Reply => new ClientReply(service!, body),
            Op.Partial => new ClientPartial(service!, body),
            _ => new ClientFinal(service!, body),
        };
        return (command, null);
    }

    private static (MdpWorkerCommand? Command, string? Error) ParseWorker(Message message, int at, Header header, bool atBroker)
    {
        string? error = ReadCommandByte(message, at, header, out byte code);
        if (error is not null)
        {
            return (null, error);
        }

        Op? parsed = header == Header.Worker01
            ? code switch
            {
                Mdp01.Ready => Op.Ready,
                Mdp01.Request => Op.Request,
                Mdp01.Reply => Op.Reply,
                Mdp01.Heartbeat => Op.Heartbeat,
                Mdp01.Disconnect => Op.Disconnect,
                _ => null,
            }
            : code switch
            {
                Mdp02.WorkerReady => Op.Ready,
                Mdp02.WorkerRequest => Op.Request,
                Mdp02.WorkerPartial => Op.Partial,
                Mdp02.WorkerFinal => Op.Final,
                Mdp02.WorkerHeartbeat => Op.Heartbeat,
                Mdp02.WorkerDisconnect => Op.Disconnect,
                _ => null,
            };
        if (parsed is not { } op)
        {
            return (null, $"frame {at}: unknown worker command 0x{code:X2}");
        }

        bool sentByWorker = op is Op.Ready or Op.Reply or Op.Partial or Op.Final;
        bool sentByBroker = op is Op.Request;
        if ((atBroker && sentByBroker) || (!atBroker && sentByWorker))
        {
            return (null, $"frame {at}: {OpName(op)} (0x{code:X2}) is sent by {(atBroker ? "the broker, not by a worker" : "a worker, not by the broker")}");
        }

        int payload = at + 1;
        switch (op)
        {
            case Op.Ready:
                // Our one MDP/0.2 extension of READY: a marker frame after the service name (docs/wire/mdp.md §18).
                bool traced = header == Header.Worker02 && message.Count == payload + 2 && message[payload + 1].Span.SequenceEqual(TraceFrame.ReadyMarker);
                error = ReadServiceName(message, payload, op, out string? service)
                    ?? CheckNoFramesAfter(message, payload + (traced ? 2 : 1), "READY", "the service name");
                return error is null ? (new WorkerReady(service!) { TraceContext = traced }, null) : (null, error);

            case Op.Heartbeat:
                error = CheckNoFramesAfter(message, payload, "HEARTBEAT", "the command");
                return error is null ? (WorkerHeartbeat.Instance, null) : (null, error);

            case Op.Disconnect:
                error = CheckNoFramesAfter(message, payload, "DISCONNECT", "the command");
                return error is null ? (WorkerDisconnect.Instance, null) : (null, error);

            default:
                return ParseEnvelope(message, payload, op);
        }
    }

    /// <summary>Client address, empty frame, body: REQUEST, REPLY, PARTIAL and FINAL of the worker protocol.</summary>
    private static (MdpWorkerCommand? Command, string? Error) ParseEnvelope(Message message, int at, Op op)
    {
        if (at >= message.Count)
        {
            return (null, $"frame {at}: {OpName(op)} without client address");
        }

        var address = message[at];
        if (MdpFrames.CheckClientAddress(address.Span) is { } problem)
        {
            return (null, $"frame {at}: {OpName(op)} with {problem}");
        }

        if (at + 1 >= message.Count || !message[at + 1].IsEmpty)
        {
            return (null, $"frame {at + 1}: {OpName(op)} without the empty frame after the client address");
        }

        var body = FrameList.Slice(message, at + 2);
        MdpWorkerCommand command = op switch
        {
            Op.Request => new WorkerRequest(address, body),
            Op.Reply => new WorkerReply(address, body),
            Op.Partial => new WorkerPartial(address, body),
            _ => new WorkerFinal(address, body),
        };
        return (command, null);
    }

    private static string? ReadServiceName(Message message, int at, Op op, out string? service)
    {
        service = null;
        if (at >= message.Count)
        {
            return $"frame {at}: {OpName(op)} without service name";
        }

        var frame = message[at].Span;
        if (MdpFrames.CheckServiceName(frame) is { } problem)
        {
            return $"frame {at}: {OpName(op)} with {problem}";
        }

        service = Encoding.UTF8.GetString(frame);
        return null;
    }

    private static string? CheckNoFramesAfter(Message message, int at, string name, string what)
    {
        int extra = message.Count - at;
        return extra <= 0 ? null : $"frame {at}: {name} has {extra} unexpected frame(s) after {what}";
    }

    private static MdpVersion VersionOf(Header header) =>
        header is Header.Client01 or Header.Worker01 ? MdpVersion.V01 : MdpVersion.V02;

    private static string HeaderName(Header header) => header switch
    {
        Header.Client01 => Mdp01.ClientHeader,
        Header.Worker01 => Mdp01.WorkerHeader,
        Header.Client02 => Mdp02.ClientHeader,
        _ => Mdp02.WorkerHeader,
    };

    private static string OpName(Op op) => op switch
    {
        Op.Ready => "READY",
        Op.Request => "REQUEST",
        Op.Reply => "REPLY",
        Op.Partial => "PARTIAL",
        Op.Final => "FINAL",
        Op.Heartbeat => "HEARTBEAT",
        _ => "DISCONNECT",
    };
}
