namespace Reliability.Transport.Internal;

/// <summary>
/// What a ZMTP decoder hands its decoded traffic to: the owning socket, seen only through the few
/// calls the receive path needs (delivery, the publishers' interception, SUBSCRIBE and CANCEL).
/// </summary>
internal interface IInboundSink
{
    /// <summary>Whether <see cref="InterceptInbound"/> must see every inbound message (publishers).</summary>
    bool InterceptsInbound { get; }

    /// <summary>Lets the socket consume an inbound message on the I/O thread; true = consumed.</summary>
    bool InterceptInbound(Pipe pipe, Message message);

    /// <summary>Takes a batch of complete messages for the application; the caller clears the list afterwards.</summary>
    void DeliverInbound(Pipe pipe, List<Delivery> batch);

    /// <summary>Handles a SUBSCRIBE or CANCEL command (split into name and data); false for any other command.</summary>
    bool TryHandleSubscriptionCommand(Pipe pipe, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data);
}
