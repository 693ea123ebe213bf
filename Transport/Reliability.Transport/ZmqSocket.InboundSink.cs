using Reliability.Transport.Internal;

namespace Reliability.Transport;

// The ZMTP receive path reaches its socket only through IInboundSink. Explicit implementations,
// because an interface of the assembly's own cannot be implemented by internal members implicitly.
public abstract partial class ZmqSocket : IInboundSink
{
    bool IInboundSink.InterceptsInbound => InterceptsInbound;

    bool IInboundSink.InterceptInbound(Pipe pipe, Message message) => InterceptInbound(pipe, message);

    void IInboundSink.DeliverInbound(Pipe pipe, List<Delivery> batch) => DeliverInbound(pipe, batch);

    bool IInboundSink.TryHandleSubscriptionCommand(Pipe pipe, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data) =>
        TryHandleSubscriptionCommand(pipe, name, data);
}
