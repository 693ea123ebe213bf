using System.Net;
using System.Net.Sockets;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

public abstract partial class ZmqSocket
{
    /// <summary>
    /// Starts accepting connections on <paramref name="endpoint"/>: <c>tcp://host:port</c> or
    /// <c>tcp://*:port</c> (port 0 or <c>*</c> picks a free port), <c>ipc://path</c> (<c>ipc://*</c>
    /// picks a fresh file), or <c>inproc://name</c> (any non-empty name, process-wide, free again once
    /// this socket is closed). Returns the bound endpoint with the actual address and port, also
    /// readable from <see cref="LastEndpoint"/>.
    /// </summary>
    /// <exception cref="EndpointException">Malformed endpoint, unknown host, or address in use (an inproc name bound by a live socket included).</exception>
    public string Bind(string endpoint)
    {
        ThrowIfDisposed();
        var parsed = TransportEndpoint.Parse(endpoint, forBind: true);
        if (parsed.IsInproc)
        {
            return BindInproc(parsed);
        }

        EndPoint address;
        try
        {
            address = parsed.ToEndPointAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        catch (EndpointException)
        {
            Raise(new SocketEvent(SocketEventKind.BindFailed, endpoint));
            throw;
        }

        var listenSocket = TransportEndpoint.CreateSocket(address);
        try
        {
            if (parsed.IpcPath is { } path)
            {
                RemoveStaleIpcFile(path);
            }

            listenSocket.Bind(address);
            listenSocket.Listen(512);
        }
        catch (SocketException ex)
        {
            listenSocket.Dispose();
            Raise(new SocketEvent(SocketEventKind.BindFailed, endpoint) { Exception = ex });
            string reason = ex.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "address already in use",
                SocketError.AddressNotAvailable => "address not available on this machine",
                SocketError.AccessDenied => "permission denied",
                _ => ex.Message,
            };
            throw new EndpointException(endpoint, reason, ex);
        }

        string bound = parsed.IsIpc ? $"ipc://{parsed.IpcPath}" : TransportEndpoint.Format(listenSocket.LocalEndPoint);
        var listener = new Listener(bound, listenSocket, parsed.IpcPath);
        lock (_gate)
        {
            _listeners.Add(listener);
        }

        LastEndpoint = bound;
        Track(AcceptLoopAsync(listener));
        Log.Listening(Logger, Type, bound);
        Raise(new SocketEvent(SocketEventKind.Listening, bound));
        return bound;
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> (<c>tcp://host:port</c>, <c>ipc://path</c> or
    /// <c>inproc://name</c>) in the background and keeps reconnecting after the peer goes away.
    /// Messages sent before the connection is up wait in this peer's queue; an inproc connect made
    /// before the name is bound attaches when the bind happens.
    /// </summary>
    /// <exception cref="EndpointException">The endpoint is malformed.</exception>
    /// <exception cref="InvalidOperationException">The socket is already connected to this endpoint.</exception>
    public void Connect(string endpoint)
    {
        ThrowIfDisposed();
        var parsed = TransportEndpoint.Parse(endpoint, forBind: false);
        var pipe = NewPipe(endpoint, connectSide: true);
        var connector = new Connector(parsed, pipe, CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token));
        lock (_gate)
        {
            if (!_connectors.TryAdd(endpoint, connector))
            {
                throw new InvalidOperationException($"Already connected to '{endpoint}'.");
            }
        }

        if (UsesLoadBalancing)
        {
            AddLoadBalanced(pipe);
        }

        Track(parsed.IsInproc ? InprocConnectLoopAsync(connector) : ConnectLoopAsync(connector));
    }

    /// <summary>Stops connecting to <paramref name="endpoint"/> and drops its queued messages.</summary>
    /// <returns>False when the socket was not connected to that endpoint.</returns>
    public bool Disconnect(string endpoint)
    {
        Connector? connector;
        lock (_gate)
        {
            if (!_connectors.Remove(endpoint, out connector))
            {
                return false;
            }
        }

        connector.Stop.Cancel();
        connector.Pipe.Connection?.Dispose();
        TerminatePipe(connector.Pipe);
        return true;
    }

    /// <summary>Whether sends go round-robin over all pipes (DEALER, REQ, PUSH, PAIR).</summary>
    private protected virtual bool UsesLoadBalancing => false;

    private async Task AcceptLoopAsync(Listener listener)
    {
        while (!_lifetime.IsCancellationRequested && !listener.IsClosed)
        {
            Socket accepted;
            try
            {
                accepted = await listener.Socket.AcceptAsync(_lifetime.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (listener.IsClosed || _closing)
            {
                // Closing the listener aborts the pending accept (OperationAborted on Linux).
                return;
            }
            catch (SocketException ex)
            {
                // Resource exhaustion (EMFILE) or a connection reset before accept: keep serving, but
                // without spinning or flooding the log while the condition lasts.
                if (HandshakeWarnings.ShouldWarn("accept:" + listener.Endpoint))
                {
                    Log.AcceptFailed(Logger, Type, listener.Endpoint, ex.Message);
                }

                if (ex.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
                {
                    try
                    {
                        await Task.Delay(AcceptBackoff, TimeProvider, _lifetime.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }

                continue;
            }

            // Unix domain peers have no address of their own: name them after the listener.
            string remote = accepted.RemoteEndPoint is IPEndPoint ip ? TransportEndpoint.Format(ip) : TransportEndpoint.Format(accepted.LocalEndPoint);
            if (listener.TryAdmit(Options) is { } refusal)
            {
                RefuseAccepted(accepted, listener.Endpoint, remote, refusal);
                continue;
            }

            Track(ServeAdmittedAsync(accepted, listener, remote));
        }
    }

    private async Task ServeAdmittedAsync(Socket accepted, Listener listener, string remote)
    {
        bool handshaking = true;
        try
        {
            Raise(new SocketEvent(SocketEventKind.Accepted, remote));
            using var connection = new ZmtpConnection(this, accepted, remote);
            var handshake = await HandshakeAsync(connection, remote, accepted: true).ConfigureAwait(false);
            handshaking = false;
            listener.HandshakeEnded();
            if (handshake is not null && !_closing)
            {
                await ServeAcceptedAsync(connection, handshake, remote).ConfigureAwait(false);
            }
        }
        finally
        {
            if (handshaking)
            {
                listener.HandshakeEnded();
            }

            listener.ConnectionEnded();
        }
    }

    private async Task ServeAcceptedAsync(ZmtpConnection connection, HandshakeResult handshake, string remote)
    {
        var pipe = NewPipe(remote, connectSide: false);
        pipe.Connection = connection;
        pipe.PeerMinor = handshake.PeerMinor;
        pipe.UserId = handshake.UserId;
        if (OnPeerReady(pipe, handshake.PeerIdentity) is { } refusal)
        {
            TerminatePipe(pipe);
            ReportProtocolError(remote, refusal, RefusalReason(refusal), SocketEventKind.HandshakeFailed);
            return;
        }

        SubscribeLegacyPeer(pipe, handshake);

        if (UsesLoadBalancing)
        {
            AddLoadBalanced(pipe);
        }

        TransportMetrics.Connections.Add(1);
        Log.HandshakeSucceeded(Logger, Type, remote, handshake.PeerSocketType);
        Raise(new SocketEvent(SocketEventKind.HandshakeSucceeded, remote) { PeerRoutingId = pipe.RoutingId });
        var end = await connection.RunAsync(pipe, _lifetime.Token).ConfigureAwait(false);
        TransportMetrics.Connections.Add(-1);

        OnPeerGone(pipe);
        TerminatePipe(pipe);
        ReportEnd(remote, end, pipe.RoutingId);
    }

    /// <summary>Fraction by which the transport's reconnect delays are randomly shortened (see <see cref="SocketOptions.ReconnectInterval"/>).</summary>
    private const double ReconnectJitter = 0.5;

    private async Task ConnectLoopAsync(Connector connector)
    {
        var token = connector.Stop.Token;
        var pipe = connector.Pipe;
        string endpoint = connector.Endpoint.Original;
        // Half the interval of jitter: a crowd of peers that lost the same server spreads its retries over it.
        var backoff = new Backoff(Options.ReconnectInterval, Options.ReconnectIntervalMax, ReconnectJitter);
        TimeSpan delay = TimeSpan.Zero;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (_closing && pipe.Outbound.Count == 0)
                {
                    return;
                }

                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, TimeProvider, token).ConfigureAwait(false);
                }

                Socket tcp;
                try
                {
                    tcp = await OpenAsync(connector.Endpoint, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SocketException or EndpointException or TimeoutException)
                {
                    delay = backoff.NextDelay();
                    Log.ConnectRetry(Logger, Type, endpoint, ex.Message, (long)delay.TotalMilliseconds);
                    Raise(new SocketEvent(SocketEventKind.ConnectRetried, endpoint) { Exception = ex, RetryIn = delay });
                    continue;
                }

                Raise(new SocketEvent(SocketEventKind.Connected, endpoint));
                using (var connection = new ZmtpConnection(this, tcp, endpoint))
                {
                    var handshake = await HandshakeAsync(connection, endpoint, accepted: false).ConfigureAwait(false);
                    if (handshake is null)
                    {
                        if (connector.ProtocolFailure)
                        {
                            // libzmq does not reconnect after a protocol error (zeromq/libzmq#1043).
                            Log.ReconnectAbandoned(Logger, Type, endpoint);
                            return;
                        }

                        delay = backoff.NextDelay();
                        Raise(new SocketEvent(SocketEventKind.ConnectRetried, endpoint) { RetryIn = delay });
                        continue;
                    }

                    backoff.Reset();
                    pipe.Connection = connection;
                    pipe.PeerMinor = handshake.PeerMinor;
                    pipe.UserId = handshake.UserId;
                    if (OnPeerReady(pipe, handshake.PeerIdentity) is { } refusal)
                    {
                        pipe.Connection = null;
                        ReportProtocolError(endpoint, refusal, RefusalReason(refusal), SocketEventKind.HandshakeFailed);
                        delay = backoff.NextDelay();
                        continue;
                    }

                    SubscribeLegacyPeer(pipe, handshake);

                    TransportMetrics.Connections.Add(1);
                    Log.HandshakeSucceeded(Logger, Type, endpoint, handshake.PeerSocketType);
                    Raise(new SocketEvent(SocketEventKind.HandshakeSucceeded, endpoint) { PeerRoutingId = pipe.RoutingId });
                    var end = await connection.RunAsync(pipe, token).ConfigureAwait(false);
                    TransportMetrics.Connections.Add(-1);
                    pipe.Connection = null;
                    OnPeerGone(pipe);
                    ReportEnd(endpoint, end, pipe.RoutingId);
                    if (end.Error is not null)
                    {
                        Log.ReconnectAbandoned(Logger, Type, endpoint);
                        return;
                    }
                }

                if (!Options.Reconnect)
                {
                    return;
                }

                delay = backoff.NextDelay();
                Raise(new SocketEvent(SocketEventKind.ConnectRetried, endpoint) { RetryIn = delay });
            }
        }
        catch (OperationCanceledException)
        {
            // Disconnect or dispose.
        }
    }

    private async Task<Socket> OpenAsync(TransportEndpoint endpoint, CancellationToken token)
    {
        var address = await endpoint.ToEndPointAsync(token).ConfigureAwait(false);
        var tcp = TransportEndpoint.CreateSocket(address);
        var limit = Options.HandshakeTimeout > TimeSpan.Zero ? Options.HandshakeTimeout : Timeout.InfiniteTimeSpan;
        using var attempt = new Deadline(limit, TimeProvider, token);
        try
        {
            var connecting = tcp.ConnectAsync(address, attempt.Token);
            if (!connecting.IsCompleted)
            {
                // libzmq's CONNECT_DELAYED: the non-blocking connect did not complete at once.
                Raise(new SocketEvent(SocketEventKind.ConnectDelayed, endpoint.Original));
            }

            await connecting.ConfigureAwait(false);
            return tcp;
        }
        catch (OperationCanceledException) when (attempt.Expired && !token.IsCancellationRequested)
        {
            tcp.Dispose();
            throw new TimeoutException("connect timed out");
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Runs the handshake; reports failures. Returns null when it failed.</summary>
    private async Task<HandshakeResult?> HandshakeAsync(ZmtpConnection connection, string endpoint, bool accepted)
    {
        HandshakeResult result;
        try
        {
            result = await connection.HandshakeAsync(_lifetime.Token).ConfigureAwait(false);
        }
        catch (ProtocolException ex)
        {
            MarkProtocolFailure(endpoint, true);
            ReportHandshakeError(endpoint, accepted, ex.Error, ex.Message);
            return null;
        }
        catch (EndOfStreamException ex)
        {
            // The peer hung up mid-handshake (often an older or foreign peer refusing our greeting): say so.
            MarkProtocolFailure(endpoint, false);
            if (HandshakeWarnings.ShouldWarn(WarningKey(endpoint, accepted)))
            {
                Log.HandshakeAbandoned(Logger, Type, endpoint, ex.Message);
            }
            else
            {
                Log.ConnectionEnded(Logger, Type, endpoint, ex.Message);
            }

            Raise(new SocketEvent(SocketEventKind.HandshakeFailed, endpoint) { Exception = ex });
            return null;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            MarkProtocolFailure(endpoint, false);
            Log.ConnectionEnded(Logger, Type, endpoint, ex.Message);
            Raise(new SocketEvent(SocketEventKind.HandshakeFailed, endpoint) { Exception = ex });
            return null;
        }

        if (!result.Succeeded)
        {
            // A timeout is treated like an I/O error: libzmq reconnects after it.
            MarkProtocolFailure(endpoint, result.Error != ProtocolError.HandshakeTimeout);
            ReportHandshakeError(endpoint, accepted, result.Error!.Value, result.Reason);
            return null;
        }

        MarkProtocolFailure(endpoint, false);
        return result;
    }

    private void MarkProtocolFailure(string endpoint, bool failed)
    {
        lock (_gate)
        {
            if (_connectors.TryGetValue(endpoint, out var connector))
            {
                connector.ProtocolFailure = failed;
            }
        }
    }

    private static string RefusalReason(ProtocolError refusal) => refusal == ProtocolError.DuplicateIdentity
        ? "routing id already in use by another connection"
        : "the socket already has its one peer";

    private void ReportProtocolError(string endpoint, ProtocolError error, string reason, SocketEventKind kind, ReadOnlyMemory<byte> peerRoutingId = default, bool warn = true)
    {
        TransportMetrics.ProtocolErrors.Add(1, new KeyValuePair<string, object?>("error", error.ToString()));
        if (warn)
        {
            Log.ProtocolViolation(Logger, Type, endpoint, error, reason);
        }
        else
        {
            Log.ProtocolViolationRepeated(Logger, Type, endpoint, error, reason);
        }

        Raise(new SocketEvent(kind, endpoint) { Error = error, Exception = new ProtocolException(error, reason), PeerRoutingId = peerRoutingId });
    }

    private WarningLimiter? _handshakeWarningLimiter;

    /// <summary>A ZMTP/1.0 subscriber sends no subscriptions: a publisher subscribes it to everything (docs/wire/zmtp.md §17).</summary>
    private void SubscribeLegacyPeer(Pipe pipe, HandshakeResult handshake)
    {
        if (handshake.PeerFiltersItself)
        {
            OnPeerSubscription(pipe, subscribe: true, []);
        }
    }

    private WarningLimiter HandshakeWarnings => LazyInitializer.EnsureInitialized(ref _handshakeWarningLimiter, () => new WarningLimiter(TimeProvider));

    /// <summary>A handshake failure: counted and raised every time, logged at Warning once per endpoint per minute.</summary>
    private void ReportHandshakeError(string endpoint, bool accepted, ProtocolError error, string reason) =>
        ReportProtocolError(endpoint, error, reason, SocketEventKind.HandshakeFailed, warn: HandshakeWarnings.ShouldWarn(WarningKey(endpoint, accepted)));

    /// <summary>
    /// What warnings are limited by: the endpoint we connect to, or the host of an accepted peer,
    /// whose every reconnection comes from a new port.
    /// </summary>
    private static string WarningKey(string endpoint, bool accepted)
    {
        int port = endpoint.LastIndexOf(':');
        return accepted && endpoint.StartsWith("tcp://", StringComparison.Ordinal) && port > "tcp://".Length ? endpoint[..port] : endpoint;
    }

    /// <summary>Reports a connection that ended after its handshake; ROUTER names the peer, so owners can act on it at once.</summary>
    private void ReportEnd(string endpoint, ConnectionEnd end, ReadOnlyMemory<byte> peerRoutingId)
    {
        if (end.Error is { } error)
        {
            // Counted every time; a host that keeps sending oversized or malformed traffic is logged once a minute.
            ReportProtocolError(endpoint, error, end.Reason, SocketEventKind.Disconnected, peerRoutingId, warn: HandshakeWarnings.ShouldWarn("traffic:" + WarningKey(endpoint, accepted: true)));
            return;
        }

        Log.ConnectionEnded(Logger, Type, endpoint, end.Reason);
        Raise(new SocketEvent(SocketEventKind.Disconnected, endpoint) { Exception = end.Exception, PeerRoutingId = peerRoutingId });
    }

    /// <summary>
    /// A socket file left behind by a crashed process would make every restart fail with "address in
    /// use": remove it when nothing accepts connections on it. A live listener is left alone.
    /// </summary>
    private static void RemoveStaleIpcFile(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
        }
    }

    private sealed class Connector(TransportEndpoint endpoint, Pipe pipe, CancellationTokenSource stop)
    {
        public TransportEndpoint Endpoint { get; } = endpoint;

        public Pipe Pipe { get; } = pipe;

        public CancellationTokenSource Stop { get; } = stop;

        public volatile bool ProtocolFailure;
    }
}
