using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.Queueing;

/// <summary>How much a broker or queue holds before it stops reading from a client: requests and bytes, per client, per service and in total.</summary>
/// <param name="ClientRequests">Requests one client may have queued, and replies waiting for it to read them.</param>
/// <param name="ClientBytes">The same in bytes.</param>
/// <param name="ServiceRequests">Requests queued for one service.</param>
/// <param name="ServiceBytes">The same in bytes.</param>
/// <param name="TotalRequests">Requests and waiting replies, all clients together.</param>
/// <param name="TotalBytes">The same in bytes.</param>
internal readonly record struct FlowLimits(int ClientRequests, long ClientBytes, int ServiceRequests, long ServiceBytes, int TotalRequests, long TotalBytes);

/// <summary>Stops and restarts the reading of one peer's messages (the ROUTER's per-peer flow control).</summary>
internal interface IFlowSwitch
{
    /// <summary>Stops reading the peer's messages.</summary>
    void Pause(RoutingKey client);

    /// <summary>Reads the peer's messages again.</summary>
    void Resume(RoutingKey client);
}

/// <summary>
/// Flow control instead of loss (docs/wire/mdp.md, "Flow control"): a broker or queue counts what it holds for each
/// client — queued requests and replies the client has not read yet — for each service and in total, in
/// requests and in bytes. A request that takes any of them to its limit is still accepted, and its client's
/// connection is paused (<see cref="IFlowSwitch"/>), so the client's further sends wait in its own queue and
/// in TCP. The client is resumed once everything that paused it is back under half its limit. Nothing
/// accepted is ever dropped for being over a limit, and a paused client costs the other clients nothing.
/// </summary>
/// <remarks>Not thread-safe: owned by the loop that receives. Only the loads that changed are looked at, so the cost per request is constant.</remarks>
internal sealed class FlowControl
{
    /// <summary>What a held request or reply costs besides its body: objects, list nodes, frame headers.</summary>
    public const int OverheadBytes = 128;

    private readonly FlowLimits _limits;
    private readonly IFlowSwitch _switch;
    private readonly Dictionary<RoutingKey, ClientLoad> _clients = new(RoutingKeyComparer.Instance);
    private readonly Dictionary<string, Load> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<ClientLoad>> _pausedByService = new(StringComparer.Ordinal);
    private readonly HashSet<ClientLoad> _pausedByTotal = [];
    private readonly Load _total = new();

    public FlowControl(FlowLimits limits, IFlowSwitch flowSwitch)
    {
        _limits = limits;
        _switch = flowSwitch;
    }

    /// <summary>Clients whose reading is paused now.</summary>
    public int PausedClients { get; private set; }

    /// <summary>Requests and waiting replies held, all clients together.</summary>
    public int HeldRequests => _total.Requests;

    /// <summary>Bytes held, all clients together.</summary>
    public long HeldBytes => _total.Bytes;

    /// <summary>Whether <paramref name="client"/> is paused now.</summary>
    public bool IsPaused(RoutingKey client) => _clients.TryGetValue(client, out var load) && load.Paused;

    /// <summary>The cost of a message held for a client: its frames and <see cref="OverheadBytes"/>.</summary>
    public static long CostOf(IReadOnlyList<ReadOnlyMemory<byte>> frames)
    {
        long bytes = OverheadBytes;
        foreach (var frame in frames)
        {
            bytes += frame.Length;
        }

        return bytes;
    }

    /// <summary>A request of <paramref name="client"/> was queued for <paramref name="service"/> (null: a reply waits for the client to read it).</summary>
    public void Added(RoutingKey client, string? service, long bytes)
    {
        var load = ClientOf(client);
        load.Add(1, bytes);
        _total.Add(1, bytes);
        Load? serviceLoad = null;
        if (service is not null)
        {
            serviceLoad = ServiceOf(service);
            serviceLoad.Add(1, bytes);
        }

        bool clientFull = load.Requests >= _limits.ClientRequests || load.Bytes >= _limits.ClientBytes;
        bool serviceFull = serviceLoad is not null && (serviceLoad.Requests >= _limits.ServiceRequests || serviceLoad.Bytes >= _limits.ServiceBytes);
        bool totalFull = _total.Requests >= _limits.TotalRequests || _total.Bytes >= _limits.TotalBytes;
        if (!(clientFull || serviceFull || totalFull))
        {
            return;
        }

        if (serviceFull && load.BlockedOn is null)
        {
            load.BlockedOn = service;
            PausedOn(service!).Add(load);
        }

        if (totalFull)
        {
            _pausedByTotal.Add(load);
        }

        if (!load.Paused)
        {
            load.Paused = true;
            PausedClients++;
            _switch.Pause(client);
        }
    }

    /// <summary>A request of <paramref name="client"/> left <paramref name="service"/>'s queue (dispatched, expired, dropped), or a waiting reply (null service) was sent.</summary>
    public void Removed(RoutingKey client, string? service, long bytes)
    {
        bool totalWasHigh = Above(_total, _limits.TotalRequests, _limits.TotalBytes);
        _total.Add(-1, -bytes);
        if (service is not null && _services.TryGetValue(service, out var serviceLoad))
        {
            bool serviceWasHigh = Above(serviceLoad, _limits.ServiceRequests, _limits.ServiceBytes);
            serviceLoad.Add(-1, -bytes);
            if (serviceLoad.Requests == 0)
            {
                _services.Remove(service);
            }

            if (serviceWasHigh && !Above(serviceLoad, _limits.ServiceRequests, _limits.ServiceBytes) && _pausedByService.Remove(service, out var blocked))
            {
                foreach (var waiting in blocked)
                {
                    waiting.BlockedOn = null;
                    TryResume(waiting);
                }
            }
        }

        if (_clients.TryGetValue(client, out var load))
        {
            load.Add(-1, -bytes);
            TryResume(load);
            if (load.Requests == 0 && !load.Paused)
            {
                _clients.Remove(client);
            }
        }

        if (totalWasHigh && !Above(_total, _limits.TotalRequests, _limits.TotalBytes) && _pausedByTotal.Count > 0)
        {
            var waiting = _pausedByTotal.ToList();
            _pausedByTotal.Clear();
            foreach (var paused in waiting)
            {
                TryResume(paused);
            }
        }
    }

    /// <summary>The client is gone (its connection ended): forget its pause. Its held requests are removed one by one through <see cref="Removed"/>.</summary>
    public void Forget(RoutingKey client)
    {
        if (!_clients.Remove(client, out var load))
        {
            return;
        }

        if (load.Paused)
        {
            PausedClients--;
        }

        if (load.BlockedOn is { } service && _pausedByService.TryGetValue(service, out var blocked))
        {
            blocked.Remove(load);
        }

        _pausedByTotal.Remove(load);
    }

    /// <summary>Everything held is gone (shutdown).</summary>
    public void Clear()
    {
        _clients.Clear();
        _services.Clear();
        _pausedByService.Clear();
        _pausedByTotal.Clear();
        _total.Add(-_total.Requests, -_total.Bytes);
        PausedClients = 0;
    }

    /// <summary>Resumes a paused client once its own load is under the low-water mark and nothing else holds it.</summary>
    private void TryResume(ClientLoad load)
    {
        if (!load.Paused || load.BlockedOn is not null || _pausedByTotal.Contains(load) || Above(load, _limits.ClientRequests, _limits.ClientBytes))
        {
            return;
        }

        load.Paused = false;
        PausedClients--;
        _switch.Resume(load.Client);
        if (load.Requests == 0)
        {
            _clients.Remove(load.Client);
        }
    }

    /// <summary>Whether a load is above the low-water mark (half its limits), where a paused client stays paused.</summary>
    private static bool Above(Load load, int requests, long bytes) => load.Requests > requests / 2 || load.Bytes > bytes / 2;

    private ClientLoad ClientOf(RoutingKey client)
    {
        if (!_clients.TryGetValue(client, out var load))
        {
            load = new ClientLoad(client);
            _clients.Add(client, load);
        }

        return load;
    }

    private Load ServiceOf(string service)
    {
        if (!_services.TryGetValue(service, out var load))
        {
            load = new Load();
            _services.Add(service, load);
        }

        return load;
    }

    private HashSet<ClientLoad> PausedOn(string service)
    {
        if (!_pausedByService.TryGetValue(service, out var set))
        {
            set = [];
            _pausedByService.Add(service, set);
        }

        return set;
    }

    private class Load
    {
        public int Requests { get; private set; }

        public long Bytes { get; private set; }

        public void Add(int requests, long bytes)
        {
            Requests += requests;
            Bytes += bytes;
        }
    }

    private sealed class ClientLoad(RoutingKey client) : Load
    {
        public RoutingKey Client { get; } = client;

        public bool Paused { get; set; }

        /// <summary>The full service that paused this client, until it drains.</summary>
        public string? BlockedOn { get; set; }
    }
}
