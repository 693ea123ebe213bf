using System.Diagnostics;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Worker;

/// <summary>
/// One request delivered to a <see cref="MajordomoWorker"/>: the body, the client it came from, and
/// the means to answer it. Answer every request exactly once with <see cref="ReplyAsync"/> (MDP/0.1
/// REPLY, MDP/0.2 FINAL); under MDP/0.2, <see cref="SendPartialAsync"/> may send intermediate replies first.
/// The broker sends the worker nothing else to do until the request is answered.
/// </summary>
public sealed class MdpRequest
{
    private const int Open = 0;
    private const int Answered = 1;

    private readonly MajordomoWorker _worker;
    private readonly ReadOnlyMemory<byte> _traceFrame;
    private int _state;

    internal MdpRequest(MajordomoWorker worker, int brokerIndex, long connectionId, WorkerRequest command, MdpVersion version)
    {
        _worker = worker;
        BrokerIndex = brokerIndex;
        ConnectionId = connectionId;
        ClientAddress = command.ClientAddress;

        // Only a worker that announced trace frames gets one (docs/wire/mdp.md §18); another worker's body is never touched.
        var body = version == MdpVersion.V02 && worker.Options.TraceContext ? TraceFrame.Strip(command.Body, out _traceFrame) : command.Body;
        Body = new Message(body);
        Version = version;
    }

    /// <summary>The client's address on the broker (opaque bytes; replies are routed by it).</summary>
    public ReadOnlyMemory<byte> ClientAddress { get; }

    /// <summary>The request's body frames, as the client sent them.</summary>
    public Message Body { get; }

    /// <summary>The service the request was sent to (the worker's service).</summary>
    public string Service => _worker.Options.Service;

    /// <summary>Starts the worker's span for handling this request, child of the broker's span when a trace frame came; null when nobody listens.</summary>
    internal Activity? StartActivity()
    {
        if (!MdpTelemetry.Worker.HasListeners())
        {
            return null;
        }

        TraceFrame.TryDecode(_traceFrame.Span, out var parent);
        return MdpTelemetry.Start(MdpTelemetry.Worker, "process", ActivityKind.Consumer, Service, Version, parent);
    }

    /// <summary>The protocol version it arrived in.</summary>
    public MdpVersion Version { get; }

    /// <summary>Whether <see cref="ReplyAsync"/> has been called.</summary>
    public bool IsAnswered => Volatile.Read(ref _state) == Answered;

    /// <summary>Which of the worker's brokers (<see cref="WorkerOptions.BrokerEndpoints"/>) sent the request; the reply goes back to it.</summary>
    internal int BrokerIndex { get; }

    /// <summary>The worker connection the request arrived on; a reply is only valid on that connection.</summary>
    internal long ConnectionId { get; }

    /// <summary>
    /// Sends the final reply (MDP/0.1 REPLY, MDP/0.2 FINAL) to the broker, which forwards it to the client.
    /// </summary>
    /// <param name="body">The reply frames (zero or more); the message is not modified.</param>
    /// <param name="cancellationToken">Stops waiting for room in the outbound queue.</param>
    /// <returns>
    /// True when the reply was handed to the connection the request came on. False when that connection has
    /// been replaced meanwhile (the broker was declared dead or sent DISCONNECT): the broker has already given
    /// the request up, so the reply is dropped rather than sent to a broker that does not expect it.
    /// </returns>
    /// <exception cref="InvalidOperationException">The request was already answered.</exception>
    public ValueTask<bool> ReplyAsync(Message body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (Interlocked.Exchange(ref _state, Answered) == Answered)
        {
            throw new InvalidOperationException("This request has already been answered; MDP allows exactly one reply per request.");
        }

        return _worker.SendReplyAsync(this, body, final: true, cancellationToken);
    }

    /// <summary>Sends an intermediate reply (MDP/0.2 PARTIAL). The client gets it before the final reply.</summary>
    /// <param name="body">The partial reply frames; the message is not modified.</param>
    /// <param name="cancellationToken">Stops waiting for room in the outbound queue.</param>
    /// <returns>True when sent; false when the connection has been replaced (see <see cref="ReplyAsync"/>).</returns>
    /// <exception cref="NotSupportedException">The worker speaks MDP/0.1, which has no partial replies.</exception>
    /// <exception cref="InvalidOperationException">The request was already answered.</exception>
    public ValueTask<bool> SendPartialAsync(Message body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (Version != MdpVersion.V02)
        {
            throw new NotSupportedException("Partial replies need MDP/0.2; this worker speaks MDP/0.1 (set WorkerOptions.Version).");
        }

        if (IsAnswered)
        {
            throw new InvalidOperationException("This request has already been answered; a partial reply must come before the final one.");
        }

        return _worker.SendReplyAsync(this, body, final: false, cancellationToken);
    }

    /// <summary>The client address in hex and a body summary.</summary>
    public override string ToString() => $"MDP request from 0x{Convert.ToHexString(ClientAddress.Span)}: {Body.Count} frame(s), {Body.TotalLength} bytes";
}
