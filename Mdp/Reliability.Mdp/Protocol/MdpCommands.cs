using System.Text;

namespace Reliability.Mdp.Protocol;

/// <summary>
/// A Majordomo command, independent of protocol version and of the envelope frames. Build a
/// message from it with <see cref="MdpCodec"/>; parsing a message yields one of these.
/// Commands compare by content: service, client address and body bytes.
/// </summary>
internal abstract record MdpCommand
{
    private protected MdpCommand()
    {
    }
}

/// <summary>A command of the client sub-protocol: a service name and a body of zero or more frames.</summary>
internal abstract record MdpClientCommand : MdpCommand
{
    private readonly FrameList _body;

    private protected MdpClientCommand(string service, IEnumerable<ReadOnlyMemory<byte>> body)
    {
        Service = MdpFrames.ValidateServiceName(service, nameof(service));
        _body = FrameList.From(body);
    }

    /// <summary>The service name (1 to <see cref="MdpCodec.MaxServiceNameLength"/> UTF-8 bytes, no control characters).</summary>
    public string Service { get; }

    /// <summary>The body frames, in order (the bytes are shared with the message they came from or were given in).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Body => _body;

    /// <inheritdoc />
    public virtual bool Equals(MdpClientCommand? other) =>
        other is not null && EqualityContract == other.EqualityContract && Service == other.Service && _body.ContentEquals(other._body);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(EqualityContract, Service, _body.ContentHashCode());

    /// <summary>Prints the service and a body summary, not the body bytes.</summary>
    protected override bool PrintMembers(StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append("Service = ").Append(Service).Append(", Body = ").Append(_body);
        return true;
    }
}

/// <summary>REQUEST, client to broker (MDP/0.1 and 0.2).</summary>
internal sealed record ClientRequest : MdpClientCommand
{
    /// <summary>Creates a request for <paramref name="service"/>.</summary>
    /// <exception cref="ArgumentException">The service name is empty, longer than 255 UTF-8 bytes or holds control characters.</exception>
    public ClientRequest(string service, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(service, body)
    {
    }
}

/// <summary>REPLY, broker to client (MDP/0.1 only; MDP/0.2 uses <see cref="ClientPartial"/> and <see cref="ClientFinal"/>).</summary>
internal sealed record ClientReply : MdpClientCommand
{
    /// <summary>Creates a reply from <paramref name="service"/>.</summary>
    /// <exception cref="ArgumentException">The service name is invalid.</exception>
    public ClientReply(string service, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(service, body)
    {
    }
}

/// <summary>PARTIAL, broker to client (MDP/0.2 only): one of zero or more intermediate replies.</summary>
internal sealed record ClientPartial : MdpClientCommand
{
    /// <summary>Creates a partial reply from <paramref name="service"/>.</summary>
    /// <exception cref="ArgumentException">The service name is invalid.</exception>
    public ClientPartial(string service, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(service, body)
    {
    }
}

/// <summary>FINAL, broker to client (MDP/0.2 only): the last reply to a request.</summary>
internal sealed record ClientFinal : MdpClientCommand
{
    /// <summary>Creates a final reply from <paramref name="service"/>.</summary>
    /// <exception cref="ArgumentException">The service name is invalid.</exception>
    public ClientFinal(string service, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(service, body)
    {
    }
}

/// <summary>A command of the worker sub-protocol.</summary>
internal abstract record MdpWorkerCommand : MdpCommand
{
    private protected MdpWorkerCommand()
    {
    }
}

/// <summary>READY, worker to broker: registers the worker for one service.</summary>
internal sealed record WorkerReady : MdpWorkerCommand
{
    /// <summary>Creates a READY for <paramref name="service"/>.</summary>
    /// <exception cref="ArgumentException">The service name is invalid.</exception>
    public WorkerReady(string service)
    {
        Service = MdpFrames.ValidateServiceName(service, nameof(service));
    }

    /// <summary>The service the worker offers.</summary>
    public string Service { get; }

    /// <summary>MDP/0.2 only: the worker accepts trace frames (our extension, docs/wire/mdp.md §18).</summary>
    public bool TraceContext { get; init; }

    /// <summary>Prints the service, and the trace extension only when it is announced (logs of plain READYs stay as they were).</summary>
    protected override bool PrintMembers(StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append("Service = ").Append(Service);
        if (TraceContext)
        {
            builder.Append(", TraceContext = True");
        }

        return true;
    }
}

/// <summary>
/// A worker command that carries a request or reply on behalf of a client: the client address
/// (the client's routing id on the broker) and a body of zero or more frames.
/// </summary>
internal abstract record WorkerEnvelopeCommand : MdpWorkerCommand
{
    private readonly FrameList _body;

    private protected WorkerEnvelopeCommand(ReadOnlyMemory<byte> clientAddress, IEnumerable<ReadOnlyMemory<byte>> body)
    {
        ClientAddress = MdpFrames.ValidateClientAddress(clientAddress, nameof(clientAddress));
        _body = FrameList.From(body);
    }

    /// <summary>The client's routing id on the broker (1 to 255 bytes).</summary>
    public ReadOnlyMemory<byte> ClientAddress { get; }

    /// <summary>The body frames, in order.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Body => _body;

    /// <inheritdoc />
    public virtual bool Equals(WorkerEnvelopeCommand? other) =>
        other is not null
        && EqualityContract == other.EqualityContract
        && ClientAddress.Span.SequenceEqual(other.ClientAddress.Span)
        && _body.ContentEquals(other._body);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(EqualityContract);
        hash.AddBytes(ClientAddress.Span);
        hash.Add(_body.ContentHashCode());
        return hash.ToHashCode();
    }

    /// <summary>Prints the client address in hex and a body summary.</summary>
    protected override bool PrintMembers(StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append("ClientAddress = 0x").Append(Convert.ToHexString(ClientAddress.Span)).Append(", Body = ").Append(_body);
        return true;
    }
}

/// <summary>REQUEST, broker to worker (MDP/0.1 and 0.2).</summary>
internal sealed record WorkerRequest : WorkerEnvelopeCommand
{
    /// <summary>Creates a request forwarded on behalf of the client at <paramref name="clientAddress"/>.</summary>
    /// <exception cref="ArgumentException">The client address is empty or longer than 255 bytes.</exception>
    public WorkerRequest(ReadOnlyMemory<byte> clientAddress, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(clientAddress, body)
    {
    }
}

/// <summary>REPLY, worker to broker (MDP/0.1 only; MDP/0.2 uses <see cref="WorkerPartial"/> and <see cref="WorkerFinal"/>).</summary>
internal sealed record WorkerReply : WorkerEnvelopeCommand
{
    /// <summary>Creates a reply for the client at <paramref name="clientAddress"/>.</summary>
    /// <exception cref="ArgumentException">The client address is invalid.</exception>
    public WorkerReply(ReadOnlyMemory<byte> clientAddress, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(clientAddress, body)
    {
    }
}

/// <summary>PARTIAL, worker to broker (MDP/0.2 only).</summary>
internal sealed record WorkerPartial : WorkerEnvelopeCommand
{
    /// <summary>Creates a partial reply for the client at <paramref name="clientAddress"/>.</summary>
    /// <exception cref="ArgumentException">The client address is invalid.</exception>
    public WorkerPartial(ReadOnlyMemory<byte> clientAddress, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(clientAddress, body)
    {
    }
}

/// <summary>FINAL, worker to broker (MDP/0.2 only): the last reply; the worker is idle afterwards.</summary>
internal sealed record WorkerFinal : WorkerEnvelopeCommand
{
    /// <summary>Creates a final reply for the client at <paramref name="clientAddress"/>.</summary>
    /// <exception cref="ArgumentException">The client address is invalid.</exception>
    public WorkerFinal(ReadOnlyMemory<byte> clientAddress, params IEnumerable<ReadOnlyMemory<byte>> body)
        : base(clientAddress, body)
    {
    }
}

/// <summary>HEARTBEAT, both directions. Use <see cref="Instance"/>.</summary>
internal sealed record WorkerHeartbeat : MdpWorkerCommand
{
    private WorkerHeartbeat()
    {
    }

    /// <summary>The one instance (the command has no fields).</summary>
    public static WorkerHeartbeat Instance { get; } = new();
}

/// <summary>DISCONNECT, both directions. Use <see cref="Instance"/>.</summary>
internal sealed record WorkerDisconnect : MdpWorkerCommand
{
    private WorkerDisconnect()
    {
    }

    /// <summary>The one instance (the command has no fields).</summary>
    public static WorkerDisconnect Instance { get; } = new();
}
