using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>
/// REP: receives requests fair-queued; everything up to and including the first empty frame is
/// the envelope, kept and put back on the reply, which goes to the peer the request came from.
/// Receive and send must alternate.
/// </summary>
public sealed class ReplySocket : ZmqSocket
{
    private readonly object _stateGate = new();
    private bool _hasRequest;
    private Pipe? _requester;
    private List<ReadOnlyMemory<byte>>? _envelope;

    /// <summary>Creates a REP socket.</summary>
    public ReplySocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Rep, options, loggerFactory, timeProvider)
    {
    }

    private protected override void CheckCanReceive()
    {
        lock (_stateGate)
        {
            if (_hasRequest)
            {
                throw new SocketStateException("A REP socket must send the reply before receiving the next request.");
            }
        }
    }

    private protected override Message? FilterIncoming(Pipe pipe, Message message)
    {
        int delimiter = message.IndexOfEmptyFrame();
        if (delimiter < 0 || delimiter == message.Count - 1)
        {
            Drop("request without an empty delimiter frame followed by a body");
            return null;
        }

        var envelope = new List<ReadOnlyMemory<byte>>(delimiter + 1);
        for (int i = 0; i <= delimiter; i++)
        {
            envelope.Add(message[i]);
        }

        message.RemoveFront(delimiter + 1);
        lock (_stateGate)
        {
            _hasRequest = true;
            _requester = pipe;
            _envelope = envelope;
        }

        return message;
    }

    private protected override Message PrepareOutgoing(Message message)
    {
        lock (_stateGate)
        {
            if (!_hasRequest)
            {
                throw new SocketStateException("A REP socket must receive a request before sending a reply.");
            }

            for (int i = _envelope!.Count - 1; i >= 0; i--)
            {
                message.Prepend(_envelope[i]);
            }
        }

        return message;
    }

    private protected override bool TryRoute(Message message)
    {
        var requester = _requester!;
        if (requester.IsTerminated)
        {
            Drop("requester gone");
            return true;
        }

        return requester.Outbound.TryEnqueue(message);
    }

    private protected override Task SendableSignal() => _requester!.IsTerminated ? Task.CompletedTask : _requester.Outbound.WritableSignal();

    private protected override void OnSent()
    {
        lock (_stateGate)
        {
            _hasRequest = false;
            _requester = null;
            _envelope = null;
        }
    }
}
