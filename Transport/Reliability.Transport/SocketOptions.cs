namespace Reliability.Transport;

/// <summary>
/// Immutable socket settings, validated once when the socket is created. Defaults follow libzmq
/// 4.3.4 except <see cref="Linger"/>, which is bounded so that closing a socket never hangs.
/// </summary>
public sealed record SocketOptions
{
    /// <summary>Hard cap on the high-water marks, so a typo cannot reserve unbounded memory silently.</summary>
    public const int MaxHighWaterMark = 10_000_000;

    /// <summary>The defaults.</summary>
    public static SocketOptions Default { get; } = new();

    /// <summary>Outbound queue limit per peer, in messages (default 1000; 0 = unlimited).</summary>
    public int SendHighWaterMark { get; init; } = 1000;

    /// <summary>
    /// Outbound queue limit per peer in bytes of message bodies, besides <see cref="SendHighWaterMark"/>
    /// (default 0 = none). The queue is full once it holds this much: one message is always accepted
    /// into a queue below it, so a peer's queue holds at most this plus one message.
    /// </summary>
    public long SendHighWaterMarkBytes { get; init; }

    /// <summary>Inbound queue limit per peer, in messages (default 1000; 0 = unlimited).</summary>
    public int ReceiveHighWaterMark { get; init; } = 1000;

    /// <summary>
    /// How long <c>DisposeAsync</c> waits for queued outbound messages to be written
    /// (default 1 s; zero drops them at once). Never infinite: closing must not hang.
    /// </summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Wait before reconnecting after a connection is lost or refused (default 100 ms). Each wait is randomly
    /// shortened by up to half, so that many peers that lost the same server do not come back in the same
    /// instant; the same back-off rule as the patterns' sessions (docs/architecture.md, "Back-off").
    /// </summary>
    public TimeSpan ReconnectInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Upper bound for exponential back-off (default zero = no back-off). When greater than
    /// <see cref="ReconnectInterval"/>, each failed attempt doubles the wait up to this value.
    /// </summary>
    public TimeSpan ReconnectIntervalMax { get; init; } = TimeSpan.Zero;

    /// <summary>Whether a connecting socket reconnects at all after losing its peer (default true).</summary>
    public bool Reconnect { get; init; } = true;

    /// <summary>
    /// When true, a <c>ReceiveAsync</c> that is waiting resumes on the I/O thread that delivered the
    /// message instead of on a thread-pool thread: one thread hop less per wake-up (default false).
    /// Only for loops that never block after the await (no synchronous waits, no long computation):
    /// the delivering connection reads nothing more until the continuation yields. The Majordomo
    /// broker, worker and asynchronous client loops use it.
    /// </summary>
    public bool InlineReceiveContinuations { get; init; }

    /// <summary>Time allowed for greeting and READY exchange (default 30 s, as libzmq; zero = no limit).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Oldest ZMTP version a peer may speak (default 1.0: ZMTP 1.0 and 2.0 peers such as libzmq 2.x
    /// and 3.x or JeroMQ 0.3 are served, as libzmq 4 serves them). Set 2.0, 3.0 or 3.1 to refuse older
    /// peers: they are logged, counted and raised as HandshakeFailed with UnsupportedVersion. A socket
    /// with PLAIN security refuses 1.0 and 2.0 peers whatever this says, since those versions have no
    /// security mechanism (docs/wire/zmtp.md §17).
    /// </summary>
    public Version MinimumZmtpVersion { get; init; } = new(1, 0);

    /// <summary>
    /// Largest inbound message accepted, in bytes over all frames (default -1 = no limit).
    /// A peer that sends a larger one is disconnected; other peers are unaffected.
    /// </summary>
    public long MaxMessageSize { get; init; } = -1;

    /// <summary>
    /// Most connections one bound endpoint holds at once, handshaking or not (default 0 = no limit).
    /// A connection beyond it is accepted and closed at once, counted and logged (at most once a minute per peer host).
    /// </summary>
    public int MaxConnections { get; init; }

    /// <summary>
    /// Most connections of one bound endpoint still in their handshake (not yet authenticated) at once
    /// (default 0 = no limit). Beyond it, new connections are accepted and closed at once, counted and
    /// logged, so peers that connect and say nothing cannot use up the connections of those that do.
    /// </summary>
    public int MaxPendingHandshakes { get; init; }

    /// <summary>Default timeout of send operations that do not pass one (default infinite).</summary>
    public TimeSpan SendTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>Default timeout of receive operations that do not pass one (default infinite).</summary>
    public TimeSpan ReceiveTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// This socket's identity, sent to peers in READY (1..255 bytes, first byte not zero).
    /// A ROUTER peer uses it as our routing id. Default: none.
    /// </summary>
    public ReadOnlyMemory<byte> RoutingId { get; init; }

    /// <summary>ROUTER: an unroutable send throws <see cref="HostUnreachableException"/> instead of dropping silently, and a full peer queue makes the send wait.</summary>
    public bool RouterMandatory { get; init; }

    /// <summary>ROUTER: a new connection with an identity already in use takes it over (the old connection is closed).</summary>
    public bool RouterHandover { get; init; }

    /// <summary>
    /// ROUTER and DEALER: receive a message marked <see cref="PeerEventKind.Connected"/> or
    /// <see cref="PeerEventKind.Disconnected"/> (see <see cref="Message.PeerEvent"/>) when a peer arrives or
    /// leaves, in order with that peer's messages, so a loop can track its peers without the monitor
    /// events of <see cref="ZmqSocket.EventRaised"/>, which arrive on another thread (default false).
    /// </summary>
    public bool ReceivePeerEvents { get; init; }

    /// <summary>REQ: allow a new request while a reply is pending (the pending one is abandoned).</summary>
    public bool RequestRelaxed { get; init; }

    /// <summary>REQ: prefix each request with a request id and accept only the reply that carries it.</summary>
    public bool RequestCorrelate { get; init; }

    /// <summary>ZMTP heartbeat: send a PING this often on every ZMTP 3.x connection (default zero = off; libzmq HEARTBEAT_IVL); ZMTP 1.0 and 2.0 peers have no PING (docs/wire/zmtp.md §17).</summary>
    public TimeSpan HeartbeatInterval { get; init; }

    /// <summary>Close a connection that sends nothing within this time after our PING (default zero = the interval; libzmq HEARTBEAT_TIMEOUT).</summary>
    public TimeSpan HeartbeatTimeout { get; init; }

    /// <summary>TTL announced in our PINGs: the peer may close if it hears nothing from us for this long (default zero = none; 100 ms resolution, at most 6553.5 s).</summary>
    public TimeSpan HeartbeatTtl { get; init; }

    /// <summary>TCP keepalive on every connection: null leaves the OS default (libzmq TCP_KEEPALIVE -1).</summary>
    public bool? TcpKeepAlive { get; init; }

    /// <summary>Idle time before the first keepalive probe (null = OS default).</summary>
    public TimeSpan? TcpKeepAliveIdle { get; init; }

    /// <summary>Time between keepalive probes (null = OS default).</summary>
    public TimeSpan? TcpKeepAliveInterval { get; init; }

    /// <summary>Unanswered probes before the OS drops the connection (null = OS default).</summary>
    public int? TcpKeepAliveCount { get; init; }

    /// <summary>
    /// PLAIN security (RFC 24; clear-text user name and password) instead of NULL. A client sets
    /// <see cref="PlainOptions.UserName"/>/<see cref="PlainOptions.Password"/>; a server sets
    /// <see cref="PlainOptions.Authenticator"/>. Default: null (NULL mechanism).
    /// </summary>
    public PlainOptions? Plain { get; init; }

    /// <summary>
    /// CURVE role (docs/wire/curve.md): true for the side that holds the server key pair (libzmq's
    /// <c>ZMQ_CURVE_SERVER</c>). CURVE is on when this or any Curve key is set; then
    /// <see cref="CurveSecretKey"/> is required, and a client also needs <see cref="CurveServerKey"/>.
    /// </summary>
    public bool CurveServer { get; init; }

    /// <summary>This socket's long-term CURVE secret key, 40 Z85 characters (<see cref="CurveKeyPair.SecretKey"/>).
    /// Each connection copies it into memory that is wiped when the connection ends. Default: null.</summary>
    public string? CurveSecretKey { get; init; }

    /// <summary>This socket's long-term CURVE public key, Z85. Optional: derived from <see cref="CurveSecretKey"/>
    /// when null; when given it must belong to that secret key.</summary>
    public string? CurvePublicKey { get; init; }

    /// <summary>Client only: the public key of the server to connect to, Z85. A server that cannot prove it
    /// holds the matching secret key gets no connection.</summary>
    public string? CurveServerKey { get; init; }

    /// <summary>
    /// Who may connect (docs/security.md): with it a socket authenticates its peers, ZAP-style, for NULL,
    /// PLAIN and CURVE alike. A CURVE server checks each client key; with <see cref="Plain"/> set (and no
    /// credentials in it) the socket is the PLAIN server; a NULL socket checks addresses and the hook.
    /// A refused PLAIN or CURVE peer gets ERROR "400"; every refusal is logged, counted and raised as
    /// HandshakeFailed with <see cref="ProtocolError.AuthenticationFailed"/>. Messages from an accepted
    /// peer carry its <see cref="Message.UserId"/>. Default: null (everyone the mechanism admits).
    /// </summary>
    public Authenticator? Authenticator { get; init; }

    /// <summary>True when this socket is the PLAIN server: an authenticator decides (<see cref="Authenticator"/> or <see cref="PlainOptions.Authenticator"/>).</summary>
    internal bool IsPlainServer => Plain is not null && (Plain.Authenticator is not null || Authenticator is not null);

    /// <summary>True when any CURVE setting is present, so the CURVE mechanism is used.</summary>
    internal bool UsesCurve => CurveServer || CurveSecretKey is not null || CurvePublicKey is not null || CurveServerKey is not null;

    /// <summary>XPUB: deliver every subscription message to the application, not only the first per topic.</summary>
    public bool XPubVerbose { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (SendHighWaterMark is < 0 or > MaxHighWaterMark)
        {
            problems.Add($"SendHighWaterMark must be 0..{MaxHighWaterMark} (was {SendHighWaterMark})");
        }

        if (ReceiveHighWaterMark is < 0 or > MaxHighWaterMark)
        {
            problems.Add($"ReceiveHighWaterMark must be 0..{MaxHighWaterMark} (was {ReceiveHighWaterMark})");
        }

        if (SendHighWaterMarkBytes < 0)
        {
            problems.Add($"SendHighWaterMarkBytes must be 0 (no byte limit) or positive (was {SendHighWaterMarkBytes})");
        }

        if (Linger < TimeSpan.Zero || Linger > TimeSpan.FromMinutes(5))
        {
            problems.Add($"Linger must be between zero and 5 minutes (was {Linger})");
        }

        if (ReconnectInterval <= TimeSpan.Zero)
        {
            problems.Add($"ReconnectInterval must be positive (was {ReconnectInterval})");
        }

        if (ReconnectIntervalMax < TimeSpan.Zero)
        {
            problems.Add($"ReconnectIntervalMax must not be negative (was {ReconnectIntervalMax})");
        }

        if (HandshakeTimeout < TimeSpan.Zero)
        {
            problems.Add($"HandshakeTimeout must not be negative (was {HandshakeTimeout})");
        }

        if (MinimumZmtpVersion is null || MinimumZmtpVersion < new Version(1, 0) || MinimumZmtpVersion > new Version(3, 1))
        {
            problems.Add($"MinimumZmtpVersion must be between 1.0 and 3.1 (was {MinimumZmtpVersion?.ToString() ?? "null"})");
        }

        if (MaxMessageSize is < -1 or 0)
        {
            problems.Add($"MaxMessageSize must be -1 (no limit) or positive (was {MaxMessageSize})");
        }

        if (MaxConnections < 0 || MaxPendingHandshakes < 0)
        {
            problems.Add($"MaxConnections and MaxPendingHandshakes must be 0 (no limit) or positive (were {MaxConnections}, {MaxPendingHandshakes})");
        }

        if (HeartbeatInterval < TimeSpan.Zero || HeartbeatInterval > TimeSpan.FromHours(1))
        {
            problems.Add($"HeartbeatInterval must be between zero (off) and 1 hour (was {HeartbeatInterval})");
        }

        if (HeartbeatTimeout < TimeSpan.Zero || HeartbeatTimeout > TimeSpan.FromHours(1))
        {
            problems.Add($"HeartbeatTimeout must be between zero (= interval) and 1 hour (was {HeartbeatTimeout})");
        }

        if (HeartbeatTtl < TimeSpan.Zero || HeartbeatTtl > TimeSpan.FromMilliseconds(6_553_500))
        {
            problems.Add($"HeartbeatTtl must be between zero and 6553.5 s (was {HeartbeatTtl})");
        }

        if (TcpKeepAliveIdle is { } idle && (idle < TimeSpan.FromSeconds(1) || idle > TimeSpan.FromDays(1)))
        {
            problems.Add($"TcpKeepAliveIdle must be 1 s..1 day (was {idle})");
        }

        if (TcpKeepAliveInterval is { } probe && (probe < TimeSpan.FromSeconds(1) || probe > TimeSpan.FromDays(1)))
        {
            problems.Add($"TcpKeepAliveInterval must be 1 s..1 day (was {probe})");
        }

        if (TcpKeepAliveCount is < 1 or > 127)
        {
            problems.Add($"TcpKeepAliveCount must be 1..127 (was {TcpKeepAliveCount})");
        }

        if (Plain is { Authenticator: null } client &&
            (System.Text.Encoding.UTF8.GetByteCount(client.UserName) > 255 || System.Text.Encoding.UTF8.GetByteCount(client.Password) > 255))
        {
            problems.Add("Plain.UserName and Plain.Password must be at most 255 bytes each");
        }

        if (UsesCurve)
        {
            CheckCurve(problems);
        }

        CheckAuthenticator(problems);

        CheckTimeout(SendTimeout, nameof(SendTimeout), problems);
        CheckTimeout(ReceiveTimeout, nameof(ReceiveTimeout), problems);

        if (RoutingId.Length > 255)
        {
            problems.Add($"RoutingId must be at most 255 bytes (was {RoutingId.Length})");
        }
        else if (RoutingId.Length > 0 && RoutingId.Span[0] == 0)
        {
            problems.Add("RoutingId must not start with a zero byte (reserved for generated ids)");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid socket options: " + string.Join("; ", problems) + ".");
        }
    }

    private void CheckCurve(List<string> problems)
    {
        if (Plain is not null)
        {
            problems.Add("Plain and the Curve options are exclusive: a connection has one mechanism");
        }

        if (!IsCurveKey(CurveSecretKey))
        {
            problems.Add("CurveSecretKey must be a 40-character Z85 key when CURVE is used");
        }
        else if (CurvePublicKey is not null && CurvePublicKey != CurveKeyPair.FromSecretKey(CurveSecretKey!).PublicKey)
        {
            problems.Add("CurvePublicKey does not belong to CurveSecretKey");
        }

        if (CurveServer ? CurveServerKey is not null : !IsCurveKey(CurveServerKey))
        {
            problems.Add(CurveServer ? "CurveServerKey is for clients; a CurveServer has its own key pair" : "CurveServerKey must be a 40-character Z85 key for a CURVE client");
        }
    }

    private void CheckAuthenticator(List<string> problems)
    {
        if (Authenticator is null)
        {
            return;
        }

        if (UsesCurve && !CurveServer)
        {
            problems.Add("Authenticator is for servers; a CURVE client is authenticated by the server it connects to");
        }

        if (Plain is { } plain && (plain.Authenticator is not null || plain.UserName.Length > 0 || plain.Password.Length > 0))
        {
            problems.Add("with Authenticator set the socket is the PLAIN server: Plain must carry no credentials and no Plain.Authenticator");
        }
    }

    private static bool IsCurveKey(string? key) => key is { Length: CurveKeyPair.KeyTextLength } && Z85.TryDecode(key, out _);

    private static void CheckTimeout(TimeSpan value, string name, List<string> problems)
    {
        if (value != Timeout.InfiniteTimeSpan && value < TimeSpan.Zero)
        {
            problems.Add($"{name} must be zero, positive or infinite (was {value})");
        }
    }
}

/// <summary>PLAIN mechanism settings: credentials for a client, or an authenticator for a server.</summary>
public sealed record PlainOptions
{
    /// <summary>Client: the user name sent in HELLO (at most 255 bytes).</summary>
    public string UserName { get; init; } = string.Empty;

    /// <summary>Client: the password sent in HELLO (at most 255 bytes). Sent in clear text.</summary>
    public string Password { get; init; } = string.Empty;

    /// <summary>
    /// Server: decides whether a peer may connect. Set it to act as the PLAIN server. A refused
    /// peer gets ERROR "400" and is disconnected; a hook that throws counts as a refusal.
    /// </summary>
    public Func<PlainCredentials, bool>? Authenticator { get; init; }
}

/// <summary>What a PLAIN client presented, for <see cref="PlainOptions.Authenticator"/>.</summary>
/// <param name="UserName">The user name from HELLO.</param>
/// <param name="Password">The password from HELLO.</param>
/// <param name="PeerAddress">The peer's endpoint, e.g. <c>tcp://127.0.0.1:53122</c>.</param>
public sealed record PlainCredentials(string UserName, string Password, string PeerAddress);
