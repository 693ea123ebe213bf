using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Reliability.Chaos.Network;

/// <summary>
/// A TCP proxy on 127.0.0.1 placed between two peers, with faults switchable at run time:
/// latency and jitter, a bandwidth limit, a black-hole partition (<see cref="NetworkConditions"/>),
/// and one-shot drops and resets of every open connection. Peers connect to <see cref="Endpoint"/>
/// instead of the real one; the proxy opens one upstream connection per accepted connection.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    // Chunks read but not yet written, per direction; a full queue stops reading, so a slow link pushes back like TCP does.
    private const int QueuedChunks = 64;
    private const int ChunkSize = 16 * 1024;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly TimeProvider _timeProvider;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly object _gate = new();
    private readonly HashSet<Link> _links = [];
    private readonly Task _acceptLoop;
    private NetworkConditions _conditions = NetworkConditions.Healthy;
    private TaskCompletionSource _open = CompletedGate();
    private long _accepted;
    private long _bytes;

    /// <summary>Starts listening on <c>127.0.0.1</c> and forwarding to <paramref name="targetPort"/> on <c>127.0.0.1</c>.</summary>
    /// <param name="targetPort">The real peer's port.</param>
    /// <param name="listenPort">The proxy's port; 0 picks a free one.</param>
    /// <param name="timeProvider">Clock for delays; <see cref="TimeProvider.System"/> when null.</param>
    public FaultProxy(int targetPort, int listenPort = 0, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetPort);
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, listenPort));
        _listener.Listen(128);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port peers connect to.</summary>
    public int Port { get; }

    /// <summary>The port the proxy forwards to.</summary>
    public int TargetPort => _target.Port;

    /// <summary>The endpoint peers connect to, as <c>tcp://127.0.0.1:port</c>.</summary>
    public string Endpoint => $"tcp://127.0.0.1:{Port}";

    /// <summary>Connections currently open.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>Connections accepted since the start.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _accepted);

    /// <summary>Bytes forwarded since the start (both directions).</summary>
    public long BytesForwarded => Interlocked.Read(ref _bytes);

    /// <summary>The conditions in force; assigning them takes effect at once for every connection.</summary>
    public NetworkConditions Conditions
    {
        get => Volatile.Read(ref _conditions);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            TaskCompletionSource? release = null;
            lock (_gate)
            {
                _conditions = value;
                if (value.BlackHole && _open.Task.IsCompleted)
                {
                    _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                else if (!value.BlackHole)
                {
                    release = _open;
                }
            }

            release?.TrySetResult();
        }
    }

    /// <summary>Back to <see cref="NetworkConditions.Healthy"/>: held bytes flow again.</summary>
    public void Heal() => Conditions = NetworkConditions.Healthy;

    /// <summary>Resets every open connection (RST to both peers), as a crashed middlebox would. New connections are accepted as usual.</summary>
    /// <returns>How many connections were reset.</returns>
    public int ResetAll() => CloseAll(reset: true);

    /// <summary>Closes every open connection in an orderly way (FIN to both peers). New connections are accepted as usual.</summary>
    /// <returns>How many connections were closed.</returns>
    public int DropAll() => CloseAll(reset: false);

    /// <summary>Stops listening and resets every connection.</summary>
    /// <returns>A task that completes when every connection task has ended.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_lifetime.IsCancellationRequested)
        {
            return;
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        CloseAll(reset: true);
        Task[] running;
        lock (_gate)
        {
            running = [_acceptLoop, .. _links.Select(l => l.Completion)];
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5), _timeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Every loop observes the cancelled lifetime; a straggler only delays nothing else.
        }

        _lifetime.Dispose();
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    private Task WaitOpenAsync(CancellationToken cancellationToken)
    {
        Task open;
        lock (_gate)
        {
            open = _open.Task;
        }

        return open.IsCompleted ? Task.CompletedTask : open.WaitAsync(cancellationToken);
    }

    private int CloseAll(bool reset)
    {
        Link[] links;
        lock (_gate)
        {
            links = [.. _links];
        }

        foreach (var link in links)
        {
            link.Abort(reset);
        }

        return links.Length;
    }

    private async Task AcceptLoopAsync()
    {
        // Bounded by the proxy's lifetime: disposing closes the listener and ends the loop.
        while (!_lifetime.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _listener.AcceptAsync(_lifetime.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_lifetime.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _accepted);
            accepted.NoDelay = true;
            var link = new Link(this, accepted);
            lock (_gate)
            {
                if (_lifetime.IsCancellationRequested)
                {
                    link.Abort(reset: true);
                    return;
                }

                _links.Add(link);
            }

            link.Start();
        }
    }

    private void Remove(Link link)
    {
        lock (_gate)
        {
            _links.Remove(link);
        }
    }

    private readonly record struct Chunk(byte[] Buffer, int Length, long DueAt);

    /// <summary>One proxied connection: the accepted downstream socket and its upstream twin.</summary>
    private sealed class Link : IDisposable
    {
        private readonly FaultProxy _proxy;
        private readonly Socket _downstream;
        private readonly Socket _upstream = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private readonly CancellationTokenSource _cancel;
        private int _aborted;

        public Link(FaultProxy proxy, Socket downstream)
        {
            _proxy = proxy;
            _downstream = downstream;
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(proxy._lifetime.Token);
        }

        public Task Completion { get; private set; } = Task.CompletedTask;

        public void Start() => Completion = Task.Run(RunAsync);

        public void Dispose() => Abort(reset: true);

        public void Abort(bool reset)
        {
            if (Interlocked.Exchange(ref _aborted, 1) != 0)
            {
                return;
            }

            foreach (var socket in new[] { _downstream, _upstream })
            {
                try
                {
                    if (reset)
                    {
                        // Linger 0 turns close into an RST, so the peer sees "connection reset".
                        socket.LingerState = new LingerOption(true, 0);
                    }
                    else if (socket.Connected)
                    {
                        socket.Shutdown(SocketShutdown.Both);
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // Already closed by the peer; closing below is all that is left.
                }

                socket.Dispose();
            }

            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The link finished meanwhile.
            }
        }

        private async Task RunAsync()
        {
            var token = _cancel.Token;
            try
            {
                // During a partition a new connection gets no further than the proxy (its SYN "vanished").
                await _proxy.WaitOpenAsync(token).ConfigureAwait(false);
                using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    connectTimeout.CancelAfter(ConnectTimeout);
                    await _upstream.ConnectAsync(_proxy._target, connectTimeout.Token).ConfigureAwait(false);
                }

                var toUpstream = PumpAsync(_downstream, _upstream, token);
                var toDownstream = PumpAsync(_upstream, _downstream, token);
                var first = await Task.WhenAny(toUpstream, toDownstream).ConfigureAwait(false);
                if (!await first.ConfigureAwait(false))
                {
                    // A reset or error on one side: pass it on as a reset to the other.
                    Abort(reset: true);
                }

                var second = first == toUpstream ? toDownstream : toUpstream;
                if (!await second.ConfigureAwait(false))
                {
                    Abort(reset: true);
                }

                Abort(reset: false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Upstream refused (the peer is down) or the link was aborted: the downstream peer sees a reset.
                Abort(reset: true);
            }
            finally
            {
                _proxy.Remove(this);
                _cancel.Dispose();
            }
        }

        /// <summary>Copies one direction until end of stream; false on a reset, error or abort.</summary>
        private async Task<bool> PumpAsync(Socket source, Socket destination, CancellationToken token)
        {
            var queue = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(QueuedChunks) { SingleReader = true, SingleWriter = true });
            var writer = WriteAsync(queue.Reader, destination, token);
            bool clean = await ReadAsync(source, queue.Writer, token).ConfigureAwait(false);
            return await writer.ConfigureAwait(false) && clean;
        }

        private async Task<bool> ReadAsync(Socket source, ChannelWriter<Chunk> queue, CancellationToken token)
        {
            var time = _proxy._timeProvider;
            long lastDue = 0;
            try
            {
                // Bounded by end of stream, an error or the link's cancellation.
                while (true)
                {
                    await _proxy.WaitOpenAsync(token).ConfigureAwait(false);
                    byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                    int read = await source.ReceiveAsync(buffer.AsMemory(0, ChunkSize), SocketFlags.None, token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        queue.TryComplete();
                        return true;
                    }

                    var conditions = _proxy.Conditions;
                    long due = time.GetTimestamp() + ToTicks(DelayFor(conditions), time);
                    due = Math.Max(due, lastDue);
                    lastDue = due;
                    await queue.WriteAsync(new Chunk(buffer, read, due), token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or ChannelClosedException)
            {
                queue.TryComplete(ex);
                return false;
            }
        }

        private async Task<bool> WriteAsync(ChannelReader<Chunk> queue, Socket destination, CancellationToken token)
        {
            var time = _proxy._timeProvider;
            long nextFree = 0;
            try
            {
                await foreach (var chunk in queue.ReadAllAsync(token).ConfigureAwait(false))
                {
                    try
                    {
                        await _proxy.WaitOpenAsync(token).ConfigureAwait(false);
                        long now = time.GetTimestamp();
                        long sendAt = chunk.DueAt;
                        long rate = _proxy.Conditions.BytesPerSecond;
                        if (rate > 0)
                        {
                            sendAt = Math.Max(sendAt, Math.Max(now, nextFree));
                            nextFree = sendAt + (long)((double)chunk.Length / rate * time.TimestampFrequency);
                        }

                        if (sendAt > now)
                        {
                            await Task.Delay(TimeSpan.FromSeconds((double)(sendAt - now) / time.TimestampFrequency), time, token).ConfigureAwait(false);
                            await _proxy.WaitOpenAsync(token).ConfigureAwait(false);
                        }

                        int sent = 0;
                        while (sent < chunk.Length)
                        {
                            sent += await destination.SendAsync(chunk.Buffer.AsMemory(sent, chunk.Length - sent), SocketFlags.None, token).ConfigureAwait(false);
                        }

                        Interlocked.Add(ref _proxy._bytes, chunk.Length);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(chunk.Buffer);
                    }
                }

                destination.Shutdown(SocketShutdown.Send);
                return true;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or ChannelClosedException)
            {
                // The destination is gone: end the whole link, or the reader could wait forever on a full queue.
                Abort(reset: true);
                return false;
            }
        }

        private static TimeSpan DelayFor(NetworkConditions conditions)
        {
            if (conditions.Latency == TimeSpan.Zero && conditions.Jitter == TimeSpan.Zero)
            {
                return TimeSpan.Zero;
            }

            double jitter = conditions.Jitter.TotalMilliseconds * ((Random.Shared.NextDouble() * 2) - 1);
            return TimeSpan.FromMilliseconds(Math.Max(0, conditions.Latency.TotalMilliseconds + jitter));
        }

        private static long ToTicks(TimeSpan delay, TimeProvider time) =>
            (long)(delay.TotalSeconds * time.TimestampFrequency);
    }
}
