using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Reliability.Testing.PyZmq;

/// <summary>Options for a socket inside a <see cref="PyZmqPeer"/>, mapped to libzmq socket options.</summary>
public sealed record PeerSocketOptions
{
    /// <summary>ZMQ_ROUTING_ID (sent as the <c>Identity</c> READY property); null leaves it unset.</summary>
    public byte[]? RoutingId { get; init; }

    /// <summary>ZMQ_LINGER; default zero so closing never waits on undelivered messages.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.Zero;

    /// <summary>ZMQ_ROUTER_MANDATORY (ROUTER only).</summary>
    public bool RouterMandatory { get; init; }

    /// <summary>ZMQ_ROUTER_HANDOVER (ROUTER only).</summary>
    public bool RouterHandover { get; init; }

    /// <summary>ZMQ_REQ_RELAXED (REQ only).</summary>
    public bool RequestRelaxed { get; init; }

    /// <summary>ZMQ_REQ_CORRELATE (REQ only).</summary>
    public bool RequestCorrelate { get; init; }

    /// <summary>ZMQ_SNDHWM, or null for libzmq's default (1000).</summary>
    public int? SendHighWaterMark { get; init; }

    /// <summary>ZMQ_RCVHWM, or null for libzmq's default (1000).</summary>
    public int? ReceiveHighWaterMark { get; init; }

    /// <summary>ZMQ_RECONNECT_IVL, or null for libzmq's default (100 ms).</summary>
    public TimeSpan? ReconnectInterval { get; init; }

    /// <summary>Any other option by libzmq name without the <c>ZMQ_</c> prefix (e.g. <c>IMMEDIATE</c>);
    /// integers as decimal text, binary options (ROUTING_ID, CONNECT_ROUTING_ID, SUBSCRIBE) as hex.</summary>
    public IReadOnlyDictionary<string, string>? Extra { get; init; }

    internal JsonObject ToWire()
    {
        var wire = new JsonObject { ["linger"] = (int)Linger.TotalMilliseconds };
        if (RoutingId is not null)
        {
            wire["routing_id"] = Convert.ToHexStringLower(RoutingId);
        }

        if (RouterMandatory)
        {
            wire["router_mandatory"] = 1;
        }

        if (RouterHandover)
        {
            wire["router_handover"] = 1;
        }

        if (RequestRelaxed)
        {
            wire["req_relaxed"] = 1;
        }

        if (RequestCorrelate)
        {
            wire["req_correlate"] = 1;
        }

        if (SendHighWaterMark is { } sndhwm)
        {
            wire["sndhwm"] = sndhwm;
        }

        if (ReceiveHighWaterMark is { } rcvhwm)
        {
            wire["rcvhwm"] = rcvhwm;
        }

        if (ReconnectInterval is { } ivl)
        {
            wire["reconnect_ivl"] = (int)ivl.TotalMilliseconds;
        }

        foreach (var (name, value) in Extra ?? new Dictionary<string, string>())
        {
            wire[name.ToLowerInvariant()] = value;
        }

        return wire;
    }
}

/// <summary>One libzmq monitor event seen by a peer socket.</summary>
/// <param name="Kind">Event name without <c>EVENT_</c>, e.g. <c>HANDSHAKE_SUCCEEDED</c>, <c>DISCONNECTED</c>, <c>ACCEPTED</c>.</param>
/// <param name="Value">The event value (fd, errno, protocol error code or retry interval).</param>
/// <param name="Endpoint">The endpoint the event is about.</param>
public sealed record PeerSocketEvent(string Kind, long Value, string Endpoint);

/// <summary>Outcome of <see cref="PeerSocket.ReceiveManyAsync"/>.</summary>
/// <param name="Received">How many messages arrived before a wait timed out.</param>
/// <param name="InOrder">True when every message had the expected sequence number and shape.</param>
/// <param name="FirstBad">Hex frames of the first out-of-order or mis-shaped message, or null.</param>
/// <param name="Prefixes">Distinct concatenated skipped frames seen (e.g. routing ids).</param>
public sealed record BulkReceiveResult(int Received, bool InOrder, IReadOnlyList<string>? FirstBad, IReadOnlyList<byte[]> Prefixes);

/// <summary>A socket living in a <see cref="PyZmqPeer"/> process. Frames are raw bytes.</summary>
public sealed class PeerSocket
{
    /// <summary>Default endpoint for <see cref="BindAsync"/>: loopback, ephemeral port.</summary>
    public const string AnyLoopbackPort = "tcp://127.0.0.1:*";

    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(5);

    internal PeerSocket(PyZmqPeer peer, int handle, string type)
    {
        Peer = peer;
        Handle = handle;
        Type = type;
    }

    /// <summary>The peer process that owns the socket.</summary>
    public PyZmqPeer Peer { get; }

    /// <summary>Handle of the socket in the peer.</summary>
    public int Handle { get; }

    /// <summary>Socket type, e.g. <c>ROUTER</c>.</summary>
    public string Type { get; }

    /// <summary>Binds; <c>tcp://127.0.0.1:*</c> and <c>tcp://127.0.0.1:0</c> pick a free port.</summary>
    /// <param name="endpoint">Endpoint to bind.</param>
    /// <returns>The actual endpoint (ZMQ_LAST_ENDPOINT), e.g. <c>tcp://127.0.0.1:40123</c>.</returns>
    public async Task<string> BindAsync(string endpoint = AnyLoopbackPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoint);
        if (endpoint.EndsWith(":0", StringComparison.Ordinal))
        {
            endpoint = endpoint[..^1] + "*";
        }

        var reply = await Call("bind", new JsonObject { ["endpoint"] = endpoint }).ConfigureAwait(false);
        return reply["endpoint"]!.GetValue<string>();
    }

    /// <summary>Unbinds an endpoint.</summary>
    /// <param name="endpoint">Endpoint as returned by <see cref="BindAsync"/>.</param>
    /// <returns>A task.</returns>
    public Task UnbindAsync(string endpoint) => Call("unbind", new JsonObject { ["endpoint"] = endpoint });

    /// <summary>Connects (libzmq connects and reconnects in the background).</summary>
    /// <param name="endpoint">Endpoint to connect to.</param>
    /// <returns>A task.</returns>
    public Task ConnectAsync(string endpoint) => Call("connect", new JsonObject { ["endpoint"] = endpoint });

    /// <summary>Disconnects an endpoint.</summary>
    /// <param name="endpoint">Endpoint passed to <see cref="ConnectAsync"/>.</param>
    /// <returns>A task.</returns>
    public Task DisconnectAsync(string endpoint) => Call("disconnect", new JsonObject { ["endpoint"] = endpoint });

    /// <summary>Sets a libzmq option by name (see <see cref="PeerSocketOptions.Extra"/> for the value format).</summary>
    /// <param name="name">Option name without <c>ZMQ_</c>.</param>
    /// <param name="value">Decimal integer or hex bytes.</param>
    /// <returns>A task.</returns>
    public Task SetOptionAsync(string name, string value) =>
        Call("setsockopt", new JsonObject { ["option"] = name, ["value"] = value });

    /// <summary>Sends a multipart message (blocking up to <paramref name="timeout"/> in libzmq, then EAGAIN).</summary>
    /// <param name="frames">The frames; at least one.</param>
    /// <param name="timeout">Send timeout in the peer; default 5 s.</param>
    /// <returns>A task.</returns>
    /// <exception cref="PyZmqPeerException">libzmq refused, e.g. <c>EHOSTUNREACH</c>, <c>EAGAIN</c>, <c>EFSM</c>.</exception>
    public Task SendAsync(IReadOnlyList<byte[]> frames, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var wait = timeout ?? DefaultWait;
        var array = new JsonArray();
        foreach (var frame in frames)
        {
            array.Add(Convert.ToHexStringLower(frame));
        }

        return Call("send", new JsonObject { ["frames"] = array, ["timeout_ms"] = Ms(wait) }, wait);
    }

    /// <summary>Sends a multipart message.</summary>
    /// <param name="frames">The frames; at least one.</param>
    /// <returns>A task.</returns>
    public Task SendAsync(params byte[][] frames) => SendAsync((IReadOnlyList<byte[]>)frames);

    /// <summary>Sends a multipart message of UTF-8 strings.</summary>
    /// <param name="frames">The frames; at least one.</param>
    /// <returns>A task.</returns>
    public Task SendStringsAsync(params string[] frames) =>
        SendAsync(frames.Select(f => Encoding.UTF8.GetBytes(f)).ToArray());

    /// <summary>Receives one message, or null when none arrives within <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long libzmq polls.</param>
    /// <returns>The frames, or null.</returns>
    public async Task<IReadOnlyList<byte[]>?> TryReceiveAsync(TimeSpan timeout)
    {
        var reply = await Call("recv", new JsonObject { ["timeout_ms"] = Ms(timeout) }, timeout).ConfigureAwait(false);
        return reply["timeout"]?.GetValue<bool>() == true ? null : Frames(reply["frames"]);
    }

    /// <summary>Receives one message.</summary>
    /// <param name="timeout">How long libzmq polls; default 5 s.</param>
    /// <returns>The frames.</returns>
    /// <exception cref="TimeoutException">Nothing arrived in time.</exception>
    public async Task<IReadOnlyList<byte[]>> ReceiveAsync(TimeSpan? timeout = null)
    {
        var wait = timeout ?? DefaultWait;
        return await TryReceiveAsync(wait).ConfigureAwait(false)
            ?? throw new TimeoutException($"{Type} socket {Handle} in peer {Peer.ProcessId}: no message within {wait}");
    }

    /// <summary>Receives up to <paramref name="count"/> messages and sends each straight back (an echo server).</summary>
    /// <param name="count">How many messages to echo.</param>
    /// <param name="timeout">How long to wait for each message; default 5 s.</param>
    /// <returns>How many were echoed (fewer than <paramref name="count"/> after a timeout).</returns>
    public async Task<int> EchoAsync(int count = 1, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var wait = timeout ?? DefaultWait;
        var reply = await Call("echo", new JsonObject { ["count"] = count, ["timeout_ms"] = Ms(wait) }, wait * (count + 1)).ConfigureAwait(false);
        return reply["echoed"]!.GetValue<int>();
    }

    /// <summary>
    /// Sends <paramref name="count"/> messages from inside the peer (no request per message): each is
    /// <paramref name="prefix"/> frames plus one body frame holding a 4-octet big-endian sequence
    /// number (0, 1, …) padded with <c>0x5A</c> to <paramref name="size"/> octets.
    /// </summary>
    /// <param name="count">Messages to send.</param>
    /// <param name="size">Body frame size, at least 4.</param>
    /// <param name="prefix">Frames put before the body (e.g. a routing id for a ROUTER), or null.</param>
    /// <param name="timeout">Send timeout per message; default 5 s.</param>
    /// <returns>How many were sent before a send timed out (all of them normally).</returns>
    public async Task<int> SendManyAsync(int count, int size = 4, IReadOnlyList<byte[]>? prefix = null, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var wait = timeout ?? DefaultWait;
        var frames = new JsonArray();
        foreach (var frame in prefix ?? [])
        {
            frames.Add(Convert.ToHexStringLower(frame));
        }

        var request = new JsonObject { ["count"] = count, ["size"] = size, ["prefix"] = frames, ["timeout_ms"] = Ms(wait) };
        var reply = await Call("send_many", request, wait + TimeSpan.FromMilliseconds(count)).ConfigureAwait(false);
        return reply["sent"]!.GetValue<int>();
    }

    /// <summary>
    /// Receives up to <paramref name="count"/> messages inside the peer and checks they carry the
    /// sequence numbers 0..count-1 in order in their last frame (as <see cref="SendManyAsync"/> and
    /// its .NET equivalents write them).
    /// </summary>
    /// <param name="count">Messages to receive.</param>
    /// <param name="skip">Leading frames before the body (e.g. 1 for a ROUTER's routing id); their distinct values are reported.</param>
    /// <param name="timeout">How long to wait for each message; default 5 s.</param>
    /// <returns>What arrived.</returns>
    public async Task<BulkReceiveResult> ReceiveManyAsync(int count, int skip = 0, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var wait = timeout ?? DefaultWait;
        var request = new JsonObject { ["count"] = count, ["skip"] = skip, ["timeout_ms"] = Ms(wait) };
        var reply = await Call("recv_many", request, wait + TimeSpan.FromMilliseconds(count)).ConfigureAwait(false);
        var firstBad = reply["first_bad"] is JsonArray bad ? bad.Select(f => f!.GetValue<string>()).ToArray() : null;
        var prefixes = reply["prefixes"] is JsonArray p ? p.Select(f => Convert.FromHexString(f!.GetValue<string>())).ToArray() : [];
        return new BulkReceiveResult(reply["received"]!.GetValue<int>(), reply["in_order"]!.GetValue<bool>(), firstBad, prefixes);
    }

    /// <summary>Starts libzmq's socket monitor (all events) for this socket.</summary>
    /// <returns>A task.</returns>
    public Task StartMonitorAsync() => Call("monitor", []);

    /// <summary>Waits for a monitor event of one of the given kinds, skipping (and consuming) others.</summary>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="kinds">Event names such as <c>HANDSHAKE_SUCCEEDED</c>, <c>DISCONNECTED</c>, <c>ACCEPTED</c>; none = any event.</param>
    /// <returns>The event, or null on timeout.</returns>
    public async Task<PeerSocketEvent?> TryWaitForEventAsync(TimeSpan timeout, params string[] kinds)
    {
        var names = new JsonArray();
        foreach (var kind in kinds)
        {
            names.Add(kind);
        }

        var reply = await Call("wait_event", new JsonObject { ["events"] = names, ["timeout_ms"] = Ms(timeout) }, timeout).ConfigureAwait(false);
        if (reply["timeout"]?.GetValue<bool>() == true)
        {
            return null;
        }

        return new PeerSocketEvent(reply["event"]!.GetValue<string>(), reply["value"]!.GetValue<long>(), reply["endpoint"]!.GetValue<string>());
    }

    /// <summary>Waits for a monitor event of one of the given kinds.</summary>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="kinds">Event names; none = any event.</param>
    /// <returns>The event.</returns>
    /// <exception cref="TimeoutException">No such event in time.</exception>
    public async Task<PeerSocketEvent> WaitForEventAsync(TimeSpan timeout, params string[] kinds) =>
        await TryWaitForEventAsync(timeout, kinds).ConfigureAwait(false)
        ?? throw new TimeoutException($"{Type} socket {Handle} in peer {Peer.ProcessId}: no {string.Join('/', kinds)} event within {timeout}");

    /// <summary>Closes the socket in the peer.</summary>
    /// <param name="linger">Linger for the close; default zero.</param>
    /// <returns>A task.</returns>
    public Task CloseAsync(TimeSpan? linger = null) =>
        Call("close", new JsonObject { ["linger"] = Ms(linger ?? TimeSpan.Zero) }, linger);

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Type}#{Handle}@{Peer.ProcessId}");

    private static int Ms(TimeSpan t) => (int)Math.Clamp(t.TotalMilliseconds, 0, 120_000);

    private static byte[][] Frames(JsonNode? node) =>
        node is JsonArray array ? array.Select(f => Convert.FromHexString(f!.GetValue<string>())).ToArray() : [];

    private Task<JsonObject> Call(string op, JsonObject arguments, TimeSpan? extraTime = null)
    {
        arguments["socket"] = Handle;
        return Peer.RequestAsync(op, arguments, extraTime);
    }
}
