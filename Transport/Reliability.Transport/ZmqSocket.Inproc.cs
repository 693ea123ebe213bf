using Reliability.Transport.Internal;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport;

/// <summary>
/// inproc:// endpoints: sockets of one process linked by <see cref="InprocConnection"/> (messages are
/// handed over, never encoded). The connecting socket drives the attach: it checks the socket types
/// and runs both sides' peer-ready hooks as the ZMTP handshake would, then both sides see the usual
/// events and end-of-connection path.
/// </summary>
public abstract partial class ZmqSocket
{
    private readonly List<InprocListener> _inprocListeners = [];

    /// <summary>Completed when the socket starts closing, so a connector waiting for a bind can stop.</summary>
    private readonly TaskCompletionSource _closingSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private enum InprocAttachOutcome
    {
        /// <summary>The name's socket started closing; wait for the next bind.</summary>
        NotBound,

        /// <summary>A peer-ready hook refused (PAIR already paired, duplicate routing id); retry after the reconnect interval.</summary>
        Refused,

        /// <summary>Incompatible socket types: never retried, as after a ZMTP protocol error.</summary>
        Abandoned,

        /// <summary>The link is up.</summary>
        Attached,
    }

    private string BindInproc(TransportEndpoint parsed)
    {
        var listener = new InprocListener(this, parsed.InprocName!, parsed.Original);
        bool bound;
        lock (_gate)
        {
            // Under the gate: CloseAsync sets _closing before it takes its snapshot of listeners.
            ThrowIfDisposed();
            bound = InprocRegistry.TryBind(listener);
            if (bound)
            {
                _inprocListeners.Add(listener);
            }
        }

        if (!bound)
        {
            Raise(new SocketEvent(SocketEventKind.BindFailed, parsed.Original));
            throw new EndpointException(parsed.Original, "address already in use");
        }

        LastEndpoint = parsed.Original;
        Log.Listening(Logger, Type, parsed.Original);
        Raise(new SocketEvent(SocketEventKind.Listening, parsed.Original));
        return parsed.Original;
    }

    /// <summary>Frees this socket's inproc names (they can be bound again at once) and wakes waiting connectors.</summary>
    private void CloseInprocEndpoints()
    {
        List<InprocListener> listeners;
        lock (_gate)
        {
            listeners = [.. _inprocListeners];
            _inprocListeners.Clear();
        }

        foreach (var listener in listeners)
        {
            InprocRegistry.Unbind(listener);
            Raise(new SocketEvent(SocketEventKind.Closed, listener.Endpoint));
        }

        _closingSignal.TrySetResult();
    }

    private async Task InprocConnectLoopAsync(Connector connector)
    {
        var token = connector.Stop.Token;
        var pipe = connector.Pipe;
        string endpoint = connector.Endpoint.Original;
        string name = connector.Endpoint.InprocName!;
        var backoff = new Backoff(Options.ReconnectInterval, Options.ReconnectIntervalMax, ReconnectJitter);
        try
        {
            // Connect() starts this loop on the caller's thread; attaching runs the peer's hooks, event
            // handlers and message moves, none of which belongs inside the caller's Connect call.
            await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            while (!token.IsCancellationRequested)
            {
                if (_closing && pipe.Outbound.Count == 0)
                {
                    return;
                }

                var listener = InprocRegistry.Find(name, out var bound);
                if (listener is null)
                {
                    Raise(new SocketEvent(SocketEventKind.ConnectDelayed, endpoint));

                    // Messages queued before a close wait through the linger for a bind; with none
                    // queued, closing ends the wait at once.
                    try
                    {
                        await (_closing ? bound : Task.WhenAny(bound, _closingSignal.Task)).WaitAsync(token).ConfigureAwait(false);
                    }
                    finally
                    {
                        InprocRegistry.StopWaiting(name, bound);
                    }

                    continue;
                }

                var (outcome, link) = AttachInproc(listener.Owner, pipe, endpoint);
                if (outcome == InprocAttachOutcome.Abandoned)
                {
                    Log.ReconnectAbandoned(Logger, Type, endpoint);
                    return;
                }

                if (outcome == InprocAttachOutcome.Refused)
                {
                    var delay = backoff.NextDelay();
                    Raise(new SocketEvent(SocketEventKind.ConnectRetried, endpoint) { RetryIn = delay });
                    await Task.Delay(delay, TimeProvider, token).ConfigureAwait(false);
                    continue;
                }

                if (link is null)
                {
                    // NotBound: the name's socket started closing; Find now waits for the next bind.
                    continue;
                }

                backoff.Reset();
                ConnectionEnd end;
                using (token.Register(static c => ((InprocConnection)c!).Dispose(), link))
                {
                    end = await link.Completion.ConfigureAwait(false);
                }

                TransportMetrics.Connections.Add(-1);
                pipe.Connection = null;
                OnPeerGone(pipe);
                ReportEnd(endpoint, end, pipe.RoutingId);
                if (!Options.Reconnect)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disconnect or dispose.
        }
    }

    /// <summary>
    /// Attaches this socket's connecting <paramref name="pipe"/> to <paramref name="binder"/>: the
    /// in-process equivalent of accept plus handshake, with the same checks and events on both sides.
    /// </summary>
    private (InprocAttachOutcome Outcome, InprocConnection? Link) AttachInproc(ZmqSocket binder, Pipe pipe, string endpoint)
    {
        var bindPipe = binder.TryNewInprocPipe(endpoint, out var binderLifetime);
        if (bindPipe is null)
        {
            return (InprocAttachOutcome.NotBound, null);
        }

        binder.Raise(new SocketEvent(SocketEventKind.Accepted, endpoint));
        Raise(new SocketEvent(SocketEventKind.Connected, endpoint));
        if (!SocketTypes.IsCompatible(Type, SocketTypes.WireName(binder.Type)))
        {
            binder.TerminatePipe(bindPipe);
            RefuseBothSides(binder, endpoint, ProtocolError.IncompatibleSocketType, $"a {SocketTypes.WireName(Type)} socket cannot talk to a {SocketTypes.WireName(binder.Type)} socket");
            return (InprocAttachOutcome.Abandoned, null);
        }

        var link = new InprocConnection(endpoint, this, pipe, binder, bindPipe);

        // As a ZMTP 3.1 peer: subscriptions travel as SUBSCRIBE/CANCEL commands, which the link turns into calls.
        pipe.PeerMinor = 1;
        bindPipe.PeerMinor = 1;
        pipe.Connection = link;
        bindPipe.Connection = link;
        if (binder.OnPeerReady(bindPipe, InprocIdentity()) is { } binderRefusal)
        {
            pipe.Connection = null;
            binder.TerminatePipe(bindPipe);
            RefuseBothSides(binder, endpoint, binderRefusal, RefusalReason(binderRefusal));
            return (InprocAttachOutcome.Refused, null);
        }

        if (OnPeerReady(pipe, binder.InprocIdentity()) is { } refusal)
        {
            pipe.Connection = null;
            binder.OnPeerGone(bindPipe);
            binder.TerminatePipe(bindPipe);
            RefuseBothSides(binder, endpoint, refusal, RefusalReason(refusal));
            return (InprocAttachOutcome.Refused, null);
        }

        if (binder.UsesLoadBalancing)
        {
            binder.AddLoadBalanced(bindPipe);
        }

        // Flowing before the events: whoever sees HandshakeSucceeded can count on queued messages moving.
        // The bound side's end-of-connection path starts after them, so Disconnected never comes first.
        TransportMetrics.Connections.Add(2);
        link.Start();
        binder.ReportInprocReady(endpoint, bindPipe, Type);
        ReportInprocReady(endpoint, pipe, binder.Type);
        binder.Track(binder.ServeInprocAsync(link, bindPipe, binderLifetime));
        return (InprocAttachOutcome.Attached, link);
    }

    /// <summary>A new accepted-side pipe, unless the socket is closing (checked under the gate, so CloseAsync's pipe snapshot sees it).</summary>
    private Pipe? TryNewInprocPipe(string endpoint, out CancellationToken lifetime)
    {
        lock (_gate)
        {
            if (_closing)
            {
                lifetime = CancellationToken.None;
                return null;
            }

            lifetime = _lifetime.Token;
            return NewPipe(endpoint, connectSide: false);
        }
    }

    /// <summary>What a ZMTP peer of this socket would announce as Identity in READY.</summary>
    private byte[] InprocIdentity() => SocketTypes.SendsIdentity(Type) ? Options.RoutingId.ToArray() : [];

    private void RefuseBothSides(ZmqSocket binder, string endpoint, ProtocolError error, string reason)
    {
        binder.ReportProtocolError(endpoint, error, reason, SocketEventKind.HandshakeFailed);
        ReportProtocolError(endpoint, error, reason, SocketEventKind.HandshakeFailed);
    }

    private void ReportInprocReady(string endpoint, Pipe pipe, SocketType peerType)
    {
        string peer = SocketTypes.WireName(peerType);
        Log.HandshakeSucceeded(Logger, Type, endpoint, peer);
        Raise(new SocketEvent(SocketEventKind.HandshakeSucceeded, endpoint) { PeerRoutingId = pipe.RoutingId });
    }

    /// <summary>The bound side of a link: ends it when this socket's lifetime ends, then retires the pipe.</summary>
    private async Task ServeInprocAsync(InprocConnection link, Pipe pipe, CancellationToken lifetime)
    {
        ConnectionEnd end;
        using (lifetime.Register(static c => ((InprocConnection)c!).Dispose(), link))
        {
            end = await link.Completion.ConfigureAwait(false);
        }

        TransportMetrics.Connections.Add(-1);
        OnPeerGone(pipe);
        TerminatePipe(pipe);
        ReportEnd(pipe.Endpoint, end, pipe.RoutingId);
    }
}
