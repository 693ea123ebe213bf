using Microsoft.Extensions.Logging;

namespace Reliability.Transport;

/// <summary>
/// XSUB: subscriptions are sent as messages (<c>01 topic</c> subscribes, <c>00 topic</c> cancels);
/// other messages go upstream to every publisher; receives everything publishers send.
/// </summary>
public sealed class XSubscriberSocket : SubscriberSocketBase
{
    /// <summary>Creates an XSUB socket.</summary>
    public XSubscriberSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.XSub, options, loggerFactory, timeProvider)
    {
    }

    private protected override bool TryRoute(Message message)
    {
        if (message.Count == 1 && message[0].Length >= 1 && message[0].Span[0] <= 1)
        {
            ChangeSubscription(message[0].Span[0] == 1, message[0].Span[1..]);
        }
        else
        {
            FanOut(message);
        }

        return true;
    }
}
