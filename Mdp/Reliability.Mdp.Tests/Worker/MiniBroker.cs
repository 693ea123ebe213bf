using System.Text;
using System.Threading.Channels;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Worker;

/// <summary>A message the mini broker received, parsed.</summary>
internal sealed record BrokerInbound(RoutingKey Sender, MdpCommand? Command, MdpVersion Version, string? Error)
{
    public bool Is<T>() where T : MdpCommand => Command is T;
}

/// <summary>
/// A tiny Majordomo broker for tests: one ROUTER speaking MDP through <see cref="MdpCodec"/>. Every
/// message it receives is recorded for the test to inspect. In scripted mode (default) it does nothing
/// else, and the test answers by hand. In relay mode it also does the minimum a broker does: registers
/// workers, answers their heartbeats (and an unknown worker's with DISCONNECT), forwards each request
/// to an idle worker of its service, forwards replies back, and answers <c>mmi.service</c>.
/// Not a reference broker: no expiry, no requeue, no limits.
/// </summary>
internal sealed class MiniBroker : IAsyncDisposable
{
    private readonly RouterSocket _router;
    private readonly Channel<BrokerInbound> _inbound = Channel.CreateUnbounded<BrokerInbound>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly bool _relay;
    private readonly Dictionary<RoutingKey, (string Service, MdpVersion Version)> _workers = [];
    private readonly Dictionary<string, Queue<RoutingKey>> _idle = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<(RoutingKey Client, MdpVersion Version, ClientRequest Request)>> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<RoutingKey, (RoutingKey Client, MdpVersion Version, string Service)> _busy = [];

    private MiniBroker(RouterSocket router, string endpoint, bool relay)
    {
        _router = router;
        Endpoint = endpoint;
        _relay = relay;
        _loop = Task.Run(LoopAsync);
    }

    public string Endpoint { get; }

    /// <summary>Relay mode: client requests for which this returns true are dropped (to simulate lost requests).</summary>
    public Func<ClientRequest, bool>? DropRequest { get; set; }

    public static MiniBroker Start(bool relay = false, string bind = "tcp://127.0.0.1:0")
    {
        // Mandatory routing: a send to a vanished peer throws, so relay mode can drop workers that are gone.
        var router = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero, RouterHandover = true, RouterMandatory = true });
        string endpoint = router.Bind(bind);
        return new MiniBroker(router, endpoint, relay);
    }

    /// <summary>Reads received messages until one matches (earlier non-matching ones are discarded).</summary>
    public async Task<BrokerInbound> ExpectAsync(Func<BrokerInbound, bool> match, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? Wait.Long);
        try
        {
            // Bounded by the deadline.
            while (true)
            {
                var next = await _inbound.Reader.ReadAsync(deadline.Token);
                if (match(next))
                {
                    return next;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"The mini broker did not receive the expected message within {timeout ?? Wait.Long}.");
        }
    }

    public Task<BrokerInbound> ExpectAsync<T>(TimeSpan? timeout = null) where T : MdpCommand => ExpectAsync(m => m.Command is T, timeout);

    /// <summary>Reads the next received message, whatever it is.</summary>
    public Task<BrokerInbound> NextAsync(TimeSpan? timeout = null) => ExpectAsync(_ => true, timeout);

    /// <summary>Whether a message arrives within <paramref name="window"/> (a negative check, so keep the window short).</summary>
    public async Task<BrokerInbound?> TryNextAsync(TimeSpan window)
    {
        using var deadline = new CancellationTokenSource(window);
        try
        {
            return await _inbound.Reader.ReadAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Sends to a worker; a worker that is gone is ignored, as a broker without ROUTER_MANDATORY would.</summary>
    public Task SendToWorkerAsync(RoutingKey worker, MdpWorkerCommand command, MdpVersion version = MdpVersion.V01) =>
        IgnoreUnreachable(_router.SendAsync(MdpCodec.BuildToWorker(worker.Memory, command, version)));

    /// <summary>Sends to a client; a client that is gone (e.g. a closed socket) is ignored.</summary>
    public Task SendToClientAsync(RoutingKey client, MdpClientCommand command, MdpVersion version = MdpVersion.V01) =>
        IgnoreUnreachable(_router.SendAsync(MdpCodec.BuildToClient(client.Memory, command, version)));

    public Task SendRawAsync(Message message) => IgnoreUnreachable(_router.SendAsync(message));

    private static async Task IgnoreUnreachable(ValueTask sending)
    {
        try
        {
            await sending;
        }
        catch (HostUnreachableException)
        {
            // Dropped, as ROUTER drops unroutable messages by default.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(Wait.Long);
        await _router.DisposeAsync();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        // Bounded by _stop.
        while (!_stop.IsCancellationRequested)
        {
            Message message;
            try
            {
                message = await _router.ReceiveAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            var parsed = MdpCodec.ParseAtBroker(message);
            var sender = new RoutingKey(message[0].Span);
            var inbound = new BrokerInbound(sender, parsed.IsSuccess ? parsed.Command : null, parsed.Version, parsed.Error);
            _inbound.Writer.TryWrite(inbound);
            if (_relay && parsed.IsSuccess)
            {
                try
                {
                    await RelayAsync(inbound);
                }
                catch (HostUnreachableException)
                {
                    // A peer went away between its message and our answer.
                }
            }
        }
    }

    private async Task RelayAsync(BrokerInbound inbound)
    {
        var sender = inbound.Sender;
        switch (inbound.Command)
        {
            case WorkerReady ready when !_workers.ContainsKey(sender):
                _workers[sender] = (ready.Service, inbound.Version);
                Idle(ready.Service).Enqueue(sender);
                await DispatchAsync(ready.Service);
                break;

            case WorkerHeartbeat when _workers.ContainsKey(sender):
                await SendToWorkerAsync(sender, WorkerHeartbeat.Instance, inbound.Version);
                break;

            case WorkerPartial part when _busy.TryGetValue(sender, out var job):
                await SendToClientAsync(job.Client, new ClientPartial(job.Service, part.Body), job.Version);
                break;

            case WorkerReply or WorkerFinal when _busy.Remove(sender, out var job):
                var body = ((WorkerEnvelopeCommand)inbound.Command!).Body;
                await SendToClientAsync(job.Client, job.Version == MdpVersion.V01 ? new ClientReply(job.Service, body) : new ClientFinal(job.Service, body), job.Version);
                Idle(job.Service).Enqueue(sender);
                await DispatchAsync(job.Service);
                break;

            case WorkerDisconnect:
                _workers.Remove(sender);
                _busy.Remove(sender);
                break;

            case ClientRequest request when Mmi.IsMmiService(request.Service):
                string status = Mmi.Evaluate(request, service => _workers.Values.Any(w => w.Service == service));
                await SendToClientAsync(sender, inbound.Version == MdpVersion.V01 ? Mmi.CreateReply(request, status) : Mmi.CreateFinal(request, status), inbound.Version);
                break;

            case ClientRequest request:
                if (DropRequest?.Invoke(request) == true)
                {
                    break;
                }

                Queued(request.Service).Enqueue((sender, inbound.Version, request));
                await DispatchAsync(request.Service);
                break;

            case MdpWorkerCommand:
                // Valid but unexpected (RFC 7): heartbeat or reply from an unknown worker, a second READY.
                _workers.Remove(sender);
                await SendToWorkerAsync(sender, WorkerDisconnect.Instance, inbound.Version);
                break;
        }
    }

    private async Task DispatchAsync(string service)
    {
        var idle = Idle(service);
        var queued = Queued(service);

        // Bounded by the queue lengths.
        while (queued.Count > 0 && idle.TryDequeue(out var worker))
        {
            if (!_workers.TryGetValue(worker, out var registration))
            {
                continue;
            }

            var (client, version, request) = queued.Peek();
            try
            {
                await _router.SendAsync(MdpCodec.BuildToWorker(worker.Memory, new WorkerRequest(client.Memory, request.Body), registration.Version));
            }
            catch (HostUnreachableException)
            {
                // A worker that reconnected on a fresh socket without DISCONNECT: forget it, try the next.
                _workers.Remove(worker);
                continue;
            }

            queued.Dequeue();
            _busy[worker] = (client, version, service);
        }
    }

    private Queue<RoutingKey> Idle(string service) =>
        _idle.TryGetValue(service, out var queue) ? queue : _idle[service] = new Queue<RoutingKey>();

    private Queue<(RoutingKey, MdpVersion, ClientRequest)> Queued(string service) =>
        _queued.TryGetValue(service, out var queue) ? queue : _queued[service] = new Queue<(RoutingKey, MdpVersion, ClientRequest)>();

    public static string Text(IReadOnlyList<ReadOnlyMemory<byte>> body, int frame = 0) => Encoding.UTF8.GetString(body[frame].Span);
}
