using Microsoft.Extensions.Logging;

namespace Reliability.Transport;

/// <summary>PUB: fans messages out to subscribers by prefix; cannot receive.</summary>
public sealed class PublisherSocket : PublisherSocketBase
{
    /// <summary>Creates a PUB socket.</summary>
    public PublisherSocket(SocketOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : base(SocketType.Pub, options, loggerFactory, timeProvider)
    {
    }

    private protected override void CheckCanReceive() =>
        throw new NotSupportedException("A PUB socket cannot receive; use XPUB to see subscriptions.");
}
