using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>
/// REQ: sends one request (prefixed with an empty delimiter frame) round-robin, then accepts only
/// the reply from the peer it went to. Send and receive must alternate unless
/// <see cref="SocketOptions.RequestRelaxed"/> is set; with <see cref="SocketOptions.RequestCorrelate"/>
/// each request carries an id and replies to older requests are dropped.
/// </summary>
public sealed class RequestSocket : ZmqSocket
{
    private readonly object _stateGate = new();
    private bool _awaitingReply;
    private Pipe? _replyPipe;
    private uint _requestId = (uint)Random.Shared.Next();
    private uint _pendingRequestId;
    private Pipe? _lastRouted;

    /// <summary>Creates a REQ socket.</summary>
    public RequestSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Req, options, loggerFactory, timeProvider)
    {
    }

    private protected override bool UsesLoadBalancing => true;

    private protected override Message PrepareOutgoing(Message message)
    {
        lock (_stateGate)
        {
            if (_awaitingReply && !Options.RequestRelaxed)
            {
                throw new SocketStateException("A REQ socket must receive the reply before sending another request (set RequestRelaxed to allow abandoning it).");
            }
        }

        message.Prepend(ReadOnlyMemory<byte>.Empty);
        if (Options.RequestCorrelate)
        {
            var id = new byte[4];

            // libzmq copies the counter in host byte order; on x86 that is little-endian.
            BinaryPrimitives.WriteUInt32LittleEndian(id, unchecked(++_requestId));
            message.Prepend(id);
        }

        return message;
    }

    private protected override bool TryRoute(Message message)
    {
        if (!TryRoundRobin(message, out var pipe))
        {
            return false;
        }

        _lastRouted = pipe;
        return true;
    }

    private protected override void OnSent()
    {
        lock (_stateGate)
        {
            _awaitingReply = true;
            _replyPipe = _lastRouted;
            _pendingRequestId = _requestId;
        }
    }

    private protected override void CheckCanReceive()
    {
        lock (_stateGate)
        {
            if (!_awaitingReply)
            {
                throw new SocketStateException("A REQ socket must send a request before receiving.");
            }
        }
    }

    private protected override Message? FilterIncoming(Pipe pipe, Message message)
    {
        lock (_stateGate)
        {
            if (!_awaitingReply || pipe != _replyPipe)
            {
                Drop("reply from a peer the request did not go to, or no request pending");
                return null;
            }

            int delimiter = 0;
            if (Options.RequestCorrelate)
            {
                if (message.Count < 2 || message[0].Length != 4 || BinaryPrimitives.ReadUInt32LittleEndian(message[0].Span) != _pendingRequestId)
                {
                    Drop("reply without the current request id");
                    return null;
                }

                delimiter = 1;
            }

            if (message.Count <= delimiter || !message[delimiter].IsEmpty)
            {
                Drop("reply without an empty delimiter frame");
                return null;
            }

            message.RemoveFront(delimiter + 1);
            _awaitingReply = false;
            _replyPipe = null;
            return message;
        }
    }
}
