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
/// A full service (or total) pauses only the clients that hold at least their share of it (what it holds
/// divided by the clients holding any): a client asking one request at a time is never held back behind a
/// flood, and a flooding client is paused by its own next request. Clients below their share may take a
/// service over its limit, by at most the limit again (together they hold less than the mean times their number).
/// </summary>
/// <remarks>Not thread-safe: owned by the loop that receives. Only the loads that changed are looked at, so the cost per request is constant.</remarks>
internal sealed class FlowControl
{
    /// <summary>What a held request or reply costs besides its body: objects, list nodes, frame headers.</summary>
    public const int OverheadBytes = 128;

    private readonly FlowLimits _limits;
    private readonly IFlowSwitch _switch;
    private readonly Dictionary<RoutingKey, ClientLoad> _clients = new(RoutingKeyComparer.Instance);
    private readonly Dictionary<string, ServiceLoad> _services = new(StringComparer.Ordinal);
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
        ServiceLoad? serviceLoad = null;
        Load? ownShare = null;
        if (service is not null)
        {
            serviceLoad = ServiceOf(service);
            serviceLoad.Add(1, bytes);
            ownShare = load.InService(service, serviceLoad);
            ownShare.Add(1, bytes);
        }

        bool clientFull = load.Requests >= _limits.ClientRequests || load.Bytes >= _limits.ClientBytes;
        bool serviceFull = serviceLoad is not null
            && (serviceLoad.Requests >= _limits.ServiceRequests || serviceLoad.Bytes >= _limits.ServiceBytes)
            && HoldsShare(ownShare!, serviceLoad, serviceLoad.Clients);
        bool totalFull = (_total.Requests >= _limits.TotalRequests || _total.Bytes >= _limits.TotalBytes) && HoldsShare(load, _total, _clients.Count);
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
            if (_clients.TryGetValue(client, out var owner))
            {
                owner.LeftService(service, serviceLoad, bytes);
            }

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

        // Its requests still count in their services' loads until they are removed, but it no longer holds a share.
        foreach (string held in load.Services)
        {
            if (_services.TryGetValue(held, out var serviceLoad))
            {
                serviceLoad.Clients--;
            }
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

    /// <summary>Whether <paramref name="part"/> is at least the mean share of <paramref name="whole"/> among <paramref name="holders"/> (in requests or in bytes).</summary>
    private static bool HoldsShare(Load part, Load whole, int holders) =>
        (long)part.Requests * holders >= whole.Requests || part.Bytes * holders >= whole.Bytes;

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

    private ServiceLoad ServiceOf(string service)
    {
        if (!_services.TryGetValue(service, out var load))
        {
            load = new ServiceLoad();
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

    /// <summary>A service's load and how many clients hold a part of it.</summary>
    private sealed class ServiceLoad : Load
    {
        public int Clients { get; set; }
    }

    private sealed class ClientLoad(RoutingKey client) : Load
    {
        // Most clients use one service: that one is kept without a dictionary.
        private string? _firstService;
        private Load? _firstLoad;
        private Dictionary<string, Load>? _otherServices;

        public RoutingKey Client { get; } = client;

        public bool Paused { get; set; }

        /// <summary>The full service that paused this client, until it drains.</summary>
        public string? BlockedOn { get; set; }

        /// <summary>The services in which this client has requests queued.</summary>
        public IEnumerable<string> Services =>
            _firstService is null ? _otherServices?.Keys ?? Enumerable.Empty<string>() : _otherServices?.Keys.Prepend(_firstService) ?? [_firstService];

        /// <summary>This client's part of <paramref name="service"/>'s load, counted as a holder of it when new.</summary>
        public Load InService(string service, ServiceLoad serviceLoad)
        {
            if (_firstService == service)
            {
                return _firstLoad!;
            }

            if (_otherServices?.TryGetValue(service, out var other) == true)
            {
                return other;
            }

            var part = new Load();
            serviceLoad.Clients++;
            if (_firstService is null)
            {
                (_firstService, _firstLoad) = (service, part);
            }
            else
            {
                (_otherServices ??= new(StringComparer.Ordinal)).Add(service, part);
            }

            return part;
        }

        /// <summary>One of this client's requests left <paramref name="service"/>; the client stops being a holder of it with its last one.</summary>
        public void LeftService(string service, ServiceLoad serviceLoad, long bytes)
        {
            Load? part = _firstService == service ? _firstLoad : _otherServices?.GetValueOrDefault(service);
            if (part is null)
            {
                return;
            }

            part.Add(-1, -bytes);
            if (part.Requests > 0)
            {
                return;
            }

            serviceLoad.Clients--;
            if (_firstService == service)
            {
                (_firstService, _firstLoad) = (null, null);
            }
            else
            {
                _otherServices!.Remove(service);
            }
        }
    }
}
