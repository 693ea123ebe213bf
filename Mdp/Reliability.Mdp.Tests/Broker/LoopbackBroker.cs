using System.Diagnostics.Metrics;
using System.Text;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>A real <see cref="MajordomoBroker"/> on 127.0.0.1 (port 0), running in the background, with its metrics observed.</summary>
internal sealed class LoopbackBroker : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly List<(string Name, long Value, TaskCompletionSource Reached)> _metricWaiters = [];

    private LoopbackBroker(MajordomoBroker broker)
    {
        Broker = broker;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == broker.Metrics.Meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (_counters)
            {
                _counters[instrument.Name] = _counters.GetValueOrDefault(instrument.Name) + value;
                SignalMetricWaitersLocked();
            }
        });
        _listener.Start();
        Endpoint = broker.Bind()[0];
        Run = broker.RunAsync(_stop.Token);
    }

    public MajordomoBroker Broker { get; }

    public string Endpoint { get; }

    public Task Run { get; }

    /// <summary>
    /// Small intervals so that expiry shows within a test's budget: interval 200 ms, liveness 10, so expiry
    /// after 2 s. The generous liveness is headroom for a loaded 2-core CI host, where a process can stall
    /// for over half a second (measured while other builds ran).
    /// </summary>
    public static BrokerOptions FastOptions { get; } = new()
    {
        Endpoints = ["tcp://127.0.0.1:0"],
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
        Liveness = 10,
        RequestExpiry = TimeSpan.FromSeconds(3),
        ShutdownTimeout = TimeSpan.FromMilliseconds(500),
    };

    public static LoopbackBroker Start(BrokerOptions? options = null, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null) =>
        new(new MajordomoBroker(options ?? FastOptions, loggerFactory));

    public long Metric(string name)
    {
        lock (_counters)
        {
            return _counters.GetValueOrDefault("reliability.mdp.broker." + name);
        }
    }

    /// <summary>Completes when metric <paramref name="name"/> (without the <c>reliability.mdp.broker.</c> prefix) reaches <paramref name="value"/>.</summary>
    public Task WhenMetric(string name, long value)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_counters)
        {
            _metricWaiters.Add(("reliability.mdp.broker." + name, value, reached));
            SignalMetricWaitersLocked();
        }

        return reached.Task;
    }

    /// <summary>
    /// Asks <c>mmi.workers</c> until the broker counts <paramref name="count"/> workers: READYs travel on
    /// other connections than the test's client, so their arrival has to be observed, not assumed.
    /// </summary>
    public async Task WaitForWorkersAsync(int count)
    {
        await using var client = new RawClient(Endpoint);
        string expected = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var deadline = DateTime.UtcNow + Wait;

        // Bounded by the deadline; every pass is a round trip to the broker.
        while (DateTime.UtcNow < deadline)
        {
            client.Send(MajordomoBroker.WorkersService);
            var reply = await client.ReceiveAsync();
            if (reply is not null && Encoding.UTF8.GetString(reply.Body[1].Span) == expected)
            {
                return;
            }
        }

        throw new TimeoutException($"the broker never counted {count} worker(s)");
    }

    private void SignalMetricWaitersLocked()
    {
        foreach (var waiter in _metricWaiters.Where(w => _counters.GetValueOrDefault(w.Name) == w.Value).ToList())
        {
            _metricWaiters.Remove(waiter);
            waiter.Reached.TrySetResult();
        }
    }

    /// <summary>Stops the broker as Ctrl-C would, and waits (bounded) for RunAsync to finish.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(Wait);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(Wait);
        await Broker.DisposeAsync().AsTask().WaitAsync(Wait);
        _listener.Dispose();
        _stop.Dispose();
    }
}

/// <summary>A worker speaking raw MDP frames on a DEALER, built and parsed by <see cref="MdpCodec"/>.</summary>
internal sealed class RawWorker : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _heartbeats;

    public RawWorker(string endpoint, string service, MdpVersion version = MdpVersion.V01, bool sendReady = true)
    {
        Version = version;
        Socket = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        Socket.Connect(endpoint);
        if (sendReady)
        {
            Send(new WorkerReady(service));
        }
    }

    public DealerSocket Socket { get; }

    public MdpVersion Version { get; }

    public void Send(MdpWorkerCommand command) => Socket.Send(MdpCodec.BuildFromWorker(command, Version));

    /// <summary>Sends HEARTBEAT every <paramref name="interval"/> in the background until disposed.</summary>
    public RawWorker HeartbeatEvery(TimeSpan interval)
    {
        _heartbeats = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Send(WorkerHeartbeat.Instance);
            }
        });
        return this;
    }

    /// <summary>Stops the background heartbeats: from now on the worker is silent.</summary>
    public async Task StopHeartbeatsAsync()
    {
        await _stop.CancelAsync();
        if (_heartbeats is not null)
        {
            await _heartbeats.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(LoopbackBroker.Wait);
        }
    }

    /// <summary>The next command other than HEARTBEAT, or null when none arrives in time.</summary>
    public async Task<MdpWorkerCommand?> ReceiveAsync(TimeSpan? timeout = null, bool skipHeartbeats = true)
    {
        var deadline = DateTime.UtcNow + (timeout ?? LoopbackBroker.Wait);

        // Bounded by the deadline.
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            var message = await Socket.TryReceiveAsync(left);
            if (message is null)
            {
                return null;
            }

            var parsed = MdpCodec.ParseAtWorker(message);
            parsed.IsSuccess.Should().BeTrue(parsed.Error);
            parsed.Version.Should().Be(Version);
            if (skipHeartbeats && parsed.Command is WorkerHeartbeat)
            {
                continue;
            }

            return parsed.Command;
        }
    }

    public async Task<WorkerRequest> ReceiveRequestAsync()
    {
        var command = await ReceiveAsync();
        return command.Should().BeOfType<WorkerRequest>().Subject;
    }

    /// <summary>Answers one request with its body upper-cased (REPLY in 0.1, FINAL in 0.2).</summary>
    public async Task EchoOneAsync(string prefix = "")
    {
        var request = await ReceiveRequestAsync();
        var body = request.Body.Select(f => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(prefix + Encoding.UTF8.GetString(f.Span))).ToArray();
        Send(Version == MdpVersion.V01 ? new WorkerReply(request.ClientAddress, body) : new WorkerFinal(request.ClientAddress, body));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_heartbeats is not null)
        {
            await _heartbeats.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(LoopbackBroker.Wait);
        }

        await Socket.DisposeAsync().AsTask().WaitAsync(LoopbackBroker.Wait);
        _stop.Dispose();
    }
}

/// <summary>A client speaking raw MDP frames: a REQ (MDP/0.1) or a DEALER (MDP/0.1 or 0.2).</summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly MdpClientSocket _kind;

    public RawClient(string endpoint, MdpVersion version = MdpVersion.V01, MdpClientSocket kind = MdpClientSocket.Dealer)
    {
        Version = version;
        _kind = kind;
        Socket = kind == MdpClientSocket.Req
            ? new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero })
            : new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        Socket.Connect(endpoint);
    }

    public ZmqSocket Socket { get; }

    public MdpVersion Version { get; }

    public void Send(string service, params string[] body) =>
        Socket.Send(MdpCodec.BuildFromClient(new ClientRequest(service, body.Select(b => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(b))), Version, _kind));

    /// <summary>The next client command (REPLY, PARTIAL or FINAL); other messages (e.g. a DISCONNECT for a socket that also sent worker frames) are skipped.</summary>
    public async Task<MdpClientCommand?> ReceiveAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? LoopbackBroker.Wait);

        // Bounded by the deadline.
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            var message = await Socket.TryReceiveAsync(left);
            if (message is null)
            {
                return null;
            }

            var parsed = MdpCodec.ParseAtClient(message, _kind);
            if (parsed.IsSuccess)
            {
                parsed.Version.Should().Be(Version);
                return parsed.Command;
            }
        }
    }

    /// <summary>Sends a request and returns the text of the first body frame of its final reply.</summary>
    public async Task<string> RequestAsync(string service, string body)
    {
        Send(service, body);

        // Bounded: at most a few partial replies precede the final one in these tests.
        for (int i = 0; i < 100; i++)
        {
            var reply = await ReceiveAsync();
            reply.Should().NotBeNull($"a reply to '{body}' from '{service}' within {LoopbackBroker.Wait}");
            reply!.Service.Should().Be(service);
            if (reply is ClientReply or ClientFinal)
            {
                return reply.Body.Count == 0 ? string.Empty : Encoding.UTF8.GetString(reply.Body[0].Span);
            }
        }

        throw new InvalidOperationException("no final reply");
    }

    public ValueTask DisposeAsync() => Socket.DisposeAsync();
}
