using Microsoft.Extensions.Logging;
using Reliability.Transport.Internal;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport;

/// <summary>
/// XPUB: a publisher that also delivers subscription changes to the application as one-frame
/// messages <c>01 topic</c> (first subscriber) and <c>00 topic</c> (last one gone), or every
/// change with <see cref="SocketOptions.XPubVerbose"/>.
/// </summary>
public sealed class XPublisherSocket : PublisherSocketBase
{
    /// <summary>Creates an XPUB socket.</summary>
    public XPublisherSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.XPub, options, loggerFactory, timeProvider)
    {
    }

    private protected override void OnSubscriptionChanged(Pipe pipe, bool subscribe, ReadOnlySpan<byte> topic, int total)
    {
        bool notify = subscribe ? total == 1 || Options.XPubVerbose : total == 0;
        if (notify)
        {
            DeliverLocal(pipe, new Message(Commands.BuildSubscriptionMessage(subscribe, topic)));
        }
    }
}
