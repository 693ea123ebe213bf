using System.Text;
using Reliability.Transport;

namespace Reliability.Mdp.Protocol;

/// <summary>
/// Builds and parses Majordomo messages exactly as the socket application sees them
/// (docs/wire/mdp.md §2-§4). Pure functions, no I/O. Build functions throw
/// <see cref="ArgumentException"/> for arguments our own code got wrong (a command that the
/// sender may not send, or that does not exist in the chosen version); parse functions never
/// throw on bad input from the network and return an <see cref="MdpParseResult{TCommand}"/> instead.
/// </summary>
internal static partial class MdpCodec
{
    /// <summary>Longest accepted service name in UTF-8 bytes (our cap; RFC 7 sets none).</summary>
    public const int MaxServiceNameLength = MdpFrames.MaxServiceNameLength;

    /// <summary>
    /// The message a worker's DEALER sends: MDP/0.1 <c>["", "MDPW01", cmd, ...]</c>,
    /// MDP/0.2 <c>["MDPW02", cmd, ...]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The command is not one a worker sends (REQUEST) or does not exist in <paramref name="version"/>.</exception>
    public static Message BuildFromWorker(MdpWorkerCommand command, MdpVersion version)
    {
        byte code = WorkerCommandByte(command, version, fromWorker: true);
        var message = new Message(WorkerFrameCount(command, version));
        return AppendWorkerCommand(message, command, version, code);
    }

    /// <summary>
    /// The message the broker's ROUTER sends to a worker: the routing id, then
    /// MDP/0.1 <c>["", "MDPW01", cmd, ...]</c> or MDP/0.2 <c>["MDPW02", cmd, ...]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The routing id is empty or longer than 255 bytes, or the command is not one the broker sends (READY, REPLY, PARTIAL, FINAL) or does not exist in <paramref name="version"/>.</exception>
    public static Message BuildToWorker(ReadOnlyMemory<byte> workerId, MdpWorkerCommand command, MdpVersion version)
    {
        CheckRoutingId(workerId, nameof(workerId));
        byte code = WorkerCommandByte(command, version, fromWorker: false);
        var message = new Message(1 + WorkerFrameCount(command, version)).Append(workerId);
        return AppendWorkerCommand(message, command, version, code);
    }

    /// <summary>
    /// The message a client sends. MDP/0.1 from a REQ: <c>["MDPC01", service, body...]</c> (the REQ socket adds the
    /// delimiter); from a DEALER: <c>["", "MDPC01", service, body...]</c>. MDP/0.2 (DEALER only): <c>["MDPC02", 0x01, service, body...]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">MDP/0.2 with a REQ socket (RFC 18 requires DEALER).</exception>
    public static Message BuildFromClient(ClientRequest request, MdpVersion version, MdpClientSocket socket)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckVersion(version);
        if (socket is not (MdpClientSocket.Req or MdpClientSocket.Dealer))
        {
            throw new ArgumentOutOfRangeException(nameof(socket), socket, "Unknown client socket type.");
        }

        if (version == MdpVersion.V02 && socket == MdpClientSocket.Req)
        {
            throw new ArgumentException("MDP/0.2 clients must use a DEALER socket (RFC 18).", nameof(socket));
        }

        bool delimiter = version == MdpVersion.V01 && socket == MdpClientSocket.Dealer;
        var message = new Message((delimiter ? 1 : 0) + (version == MdpVersion.V02 ? 3 : 2) + request.Body.Count);
        if (delimiter)
        {
            message.AppendEmpty();
        }

        message.Append(MdpFrames.ClientHeader(version));
        if (version == MdpVersion.V02)
        {
            message.Append(MdpFrames.Command(Mdp02.ClientRequest));
        }

        return AppendServiceAndBody(message, request);
    }

    /// <summary>
    /// The message the broker's ROUTER sends to a client: MDP/0.1 <c>[clientId, "", "MDPC01", service, body...]</c>
    /// (REPLY); MDP/0.2 <c>[clientId, "MDPC02", 0x02|0x03, service, body...]</c> (PARTIAL or FINAL).
    /// </summary>
    /// <exception cref="ArgumentException">The routing id is invalid, the command is a REQUEST, or it does not exist in <paramref name="version"/>.</exception>
    public static Message BuildToClient(ReadOnlyMemory<byte> clientId, MdpClientCommand reply, MdpVersion version)
    {
        CheckRoutingId(clientId, nameof(clientId));
        ArgumentNullException.ThrowIfNull(reply);
        CheckVersion(version);
        byte? code = (reply, version) switch
        {
            (ClientReply, MdpVersion.V01) => null,
            (ClientPartial, MdpVersion.V02) => Mdp02.ClientPartial,
            (ClientFinal, MdpVersion.V02) => Mdp02.ClientFinal,
            (ClientRequest, _) => throw new ArgumentException("REQUEST is sent by a client, not by the broker.", nameof(reply)),
            (ClientReply, _) => throw new ArgumentException("REPLY does not exist in MDP/0.2; send ClientPartial/ClientFinal.", nameof(reply)),
            _ => throw new ArgumentException($"{CommandName(reply)} does not exist in MDP/0.1; send ClientReply.", nameof(reply)),
        };

        var message = new Message(4 + reply.Body.Count).Append(clientId);
        if (code is { } value)
        {
            message.Append(MdpFrames.ClientHeader02).Append(MdpFrames.Command(value));
        }
        else
        {
            message.AppendEmpty().Append(MdpFrames.ClientHeader01);
        }

        return AppendServiceAndBody(message, reply);
    }

    private static Message AppendServiceAndBody(Message message, MdpClientCommand command)
    {
        message.Append(Encoding.UTF8.GetBytes(command.Service));
        foreach (var frame in command.Body)
        {
            message.Append(frame);
        }

        return message;
    }

    private static Message AppendWorkerCommand(Message message, MdpWorkerCommand command, MdpVersion version, byte code)
    {
        if (version == MdpVersion.V01)
        {
            message.AppendEmpty();
        }

        message.Append(MdpFrames.WorkerHeader(version)).Append(MdpFrames.Command(code));
        switch (command)
        {
            case WorkerReady ready:
                message.Append(Encoding.UTF8.GetBytes(ready.Service));
                if (ready.TraceContext && version == MdpVersion.V02)
                {
                    message.Append(TraceFrame.ReadyMarker.ToArray());
                }

                break;
            case WorkerEnvelopeCommand envelope:
                message.Append(envelope.ClientAddress).AppendEmpty();
                foreach (var frame in envelope.Body)
                {
                    message.Append(frame);
                }

                break;
        }

        return message;
    }

    private static int WorkerFrameCount(MdpWorkerCommand command, MdpVersion version) =>
        (version == MdpVersion.V01 ? 3 : 2) + command switch
        {
            WorkerReady ready => ready.TraceContext && version == MdpVersion.V02 ? 2 : 1,
            WorkerEnvelopeCommand envelope => 2 + envelope.Body.Count,
            _ => 0,
        };

    /// <summary>The command byte for <paramref name="command"/>, after checking that the sender may send it in <paramref name="version"/>.</summary>
    private static byte WorkerCommandByte(MdpWorkerCommand command, MdpVersion version, bool fromWorker)
    {
        ArgumentNullException.ThrowIfNull(command);
        CheckVersion(version);
        bool v01 = version == MdpVersion.V01;
        bool sentByWorker = command is WorkerReady or WorkerReply or WorkerPartial or WorkerFinal;
        bool sentByBroker = command is WorkerRequest;
        if ((fromWorker && sentByBroker) || (!fromWorker && sentByWorker))
        {
            throw new ArgumentException(
                $"{CommandName(command)} is sent by {(sentByWorker ? "a worker" : "the broker")}, not by {(fromWorker ? "a worker" : "the broker")}.",
                nameof(command));
        }

        return command switch
        {
            WorkerReady => v01 ? Mdp01.Ready : Mdp02.WorkerReady,
            WorkerRequest => v01 ? Mdp01.Request : Mdp02.WorkerRequest,
            WorkerReply when v01 => Mdp01.Reply,
            WorkerPartial when !v01 => Mdp02.WorkerPartial,
            WorkerFinal when !v01 => Mdp02.WorkerFinal,
            WorkerHeartbeat => v01 ? Mdp01.Heartbeat : Mdp02.WorkerHeartbeat,
            WorkerDisconnect => v01 ? Mdp01.Disconnect : Mdp02.WorkerDisconnect,
            WorkerReply => throw new ArgumentException("REPLY does not exist in MDP/0.2; send WorkerPartial/WorkerFinal.", nameof(command)),
            WorkerPartial or WorkerFinal => throw new ArgumentException($"{CommandName(command)} does not exist in MDP/0.1; send WorkerReply.", nameof(command)),
            _ => throw new ArgumentException($"Unknown worker command type {command.GetType().Name}.", nameof(command)),
        };
    }

    private static void CheckVersion(MdpVersion version)
    {
        if (version is not (MdpVersion.V01 or MdpVersion.V02))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "Unknown MDP version.");
        }
    }

    private static void CheckRoutingId(ReadOnlyMemory<byte> routingId, string paramName)
    {
        // ROUTER routing ids are 1 to 255 bytes (RFC 37); an empty one would be read as the delimiter.
        if (routingId.IsEmpty || routingId.Length > 255)
        {
            throw new ArgumentException($"A routing id must be 1 to 255 bytes, got {routingId.Length}.", paramName);
        }
    }

    private static string CommandName(MdpCommand command) => command switch
    {
        ClientRequest or WorkerRequest => "REQUEST",
        ClientReply or WorkerReply => "REPLY",
        ClientPartial or WorkerPartial => "PARTIAL",
        ClientFinal or WorkerFinal => "FINAL",
        WorkerReady => "READY",
        WorkerHeartbeat => "HEARTBEAT",
        WorkerDisconnect => "DISCONNECT",
        _ => command.GetType().Name,
    };
}
