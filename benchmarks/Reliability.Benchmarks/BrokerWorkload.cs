using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>
/// The Majordomo broker workload: clients send requests to service <c>echo</c> through a broker to
/// echo workers, as the zguide's mdclient/mdbroker/mdworker trio does, and the measuring process
/// reports request rate, latency and CPU time per request. The broker and the workers run in this
/// process or, with <c>--spawn</c>, as processes of their own (this program's <c>broker-serve</c> and
/// <c>broker-worker</c> sub-commands), so that CPU time can be told apart per role.
/// </summary>
internal static class BrokerWorkload
{
    // The warm-up runs the real traffic through every process until tier-1 code runs everywhere (see
    // WarmUp): at least this long and this many requests, since the first requests of freshly started
    // processes are slow (a loaded machine made 2,000 requests in the first 1.5 s of a spawned run, and
    // the JIT's background threads still took 13% of the measured run's CPU). Capped, to stay bounded.
    private static readonly TimeSpan WarmUpMinDuration = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan WarmUpMaxDuration = TimeSpan.FromSeconds(20);
    private const int WarmUpMinRequests = 20_000;

    // The warm-up ends when no process compiled a method over this long: tier-1 code everywhere.
    private static readonly TimeSpan JitQuietPeriod = TimeSpan.FromSeconds(1);

    // How long the workers get to register with the broker before the run is declared failed.
    private static readonly TimeSpan RegistrationTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    public static Task<string?> RunAsync(BrokerArguments a) => a.Role switch
    {
        BrokerRole.Serve => ServeAsync(a),
        BrokerRole.Worker => WorkAsync(a),
        _ => BenchAsync(a),
    };

    /// <summary>broker-serve: our broker until standard input closes (the parent closes it, or dies).</summary>
    private static async Task<string?> ServeAsync(BrokerArguments a)
    {
        var cpu = CpuSample.Of(Process.GetCurrentProcess());
        await using (var broker = new MajordomoBroker(new BrokerOptions { Endpoints = [a.Endpoint!] }))
        {
            string bound = broker.Bind()[0];
            var run = broker.RunAsync();
            Console.WriteLine("endpoint: " + bound);
            Console.Out.Flush();
            await StandardInputClosedAsync();
            await broker.DisposeAsync();
            await run;
        }

        Console.Error.WriteLine("broker-serve: " + CpuSample.Of(Process.GetCurrentProcess()).Minus(cpu).Describe() + ", " + RuntimeCounters.Describe());
        return null;
    }

    /// <summary>broker-worker: N echo workers until standard input closes.</summary>
    private static async Task<string?> WorkAsync(BrokerArguments a)
    {
        var cpu = CpuSample.Of(Process.GetCurrentProcess());
        using var stop = new CancellationTokenSource();
        var runs = StartWorkers(a.Endpoint!, a, stop.Token);
        await StandardInputClosedAsync();
        await stop.CancelAsync();
        await Task.WhenAll(runs);
        Console.Error.WriteLine("broker-worker: " + CpuSample.Of(Process.GetCurrentProcess()).Minus(cpu).Describe() + ", " + RuntimeCounters.Describe());
        return null;
    }

    private static Task[] StartWorkers(string endpoint, BrokerArguments a, CancellationToken stop)
    {
        var options = new WorkerOptions { BrokerEndpoint = endpoint, Service = BrokerArguments.Service, Version = a.Version, UnsafeInlineHandler = a.UnsafeInline };

        // The echo of zguide's mdworker: the request body is the reply.
        return Enumerable.Range(0, a.Workers)
            .Select(_ => new MajordomoWorker(options).RunAsync(static (request, _) => ValueTask.FromResult(request.Body), stop))
            .ToArray();
    }

    /// <summary>
    /// Completes when standard input reaches end of file: the stop signal of a spawned role. Until then
    /// each <see cref="JitStatus.Query"/> line read there is answered on standard output.
    /// </summary>
    private static async Task StandardInputClosedAsync()
    {
        // Bounded by the parent: it closes our stdin when it is done, and the OS does so when it dies.
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line == JitStatus.Query)
            {
                Console.WriteLine(JitStatus.OfThisProcess().Format());
                Console.Out.Flush();
            }
        }
    }

    /// <summary>broker: starts the stack, warms it up, measures, prints.</summary>
    private static async Task<string?> BenchAsync(BrokerArguments a)
    {
        await using var stack = new Stack(a);
        string endpoint = await stack.StartAsync();
        await WaitForWorkersAsync(endpoint, a, external: a.Endpoint is not null);

        // An upfront run cannot be cut short by the warm-up's stop flag, so its warm-up runs pipelined (same broker paths).
        var warmUpMode = a.Mode == ClientMode.Upfront ? a with { Mode = ClientMode.Pipelined } : a;
        var clients = Enumerable.Range(0, a.Clients).Select(_ => BenchClient.Create(warmUpMode, endpoint)).ToArray();
        try
        {
            if (WarmUp.Enabled)
            {
                var warmUpStarted = Stopwatch.GetTimestamp();
                var done = new WarmUpEnd();
                var load = RunLoadAsync(clients, a, int.MaxValue, samples: null, done.Check);
                string jit = await WaitForQuietJitAsync(stack, warmUpStarted, load, done);
                int warmed = await load;
                Console.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"warm-up: {warmed} requests in {Stopwatch.GetElapsedTime(warmUpStarted).TotalSeconds:F2} s through the same broker and workers; {jit}"));
            }

            var samples = new long[a.Requests];
            var jitBefore = await stack.SampleJitAsync();
            var before = stack.SampleCpu();
            var gc = GcSample.Take();
            var started = Stopwatch.GetTimestamp();
            var flood = a.Flood > 0 ? UpfrontLoad.FloodAsync(a, endpoint) : null;
            if (a.Mode == ClientMode.Upfront)
            {
                await UpfrontLoad.RunAsync(a, endpoint, samples);
            }
            else
            {
                await RunLoadAsync(clients, a, a.Requests, samples, enough: null);
            }

            double seconds = Math.Max(Stopwatch.GetElapsedTime(started).TotalSeconds, 1e-9);
            var after = stack.SampleCpu();
            var jitAfter = await stack.SampleJitAsync();

            stack.ReportCpu(before, after, a.Requests);
            if (flood is not null)
            {
                Console.Error.WriteLine(await flood);
            }

            Console.Error.WriteLine(stack.DescribeBrokerPeakRss());
            Console.Error.WriteLine(gc.Describe(a.Requests));
            Console.Error.WriteLine(JitStatus.DescribeGrowth(jitBefore, jitAfter));
            return Summarize(a, seconds, samples);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="count"/> requests (fewer if <paramref name="enough"/> says so first) from every
    /// client at once, each keeping its window full; records each request's round trip in <paramref name="samples"/>.
    /// Returns how many requests were made.
    /// </summary>
    /// <summary>
    /// Lets the warm-up load run for at least the minimum time and requests, then until no process of the
    /// stack has compiled a method for <see cref="JitQuietPeriod"/> (at most <see cref="WarmUpMaxDuration"/>),
    /// and ends it. Returns how the JIT stood at the end, for the warm-up line.
    /// </summary>
    private static async Task<string> WaitForQuietJitAsync(Stack stack, long started, Task<int> load, WarmUpEnd end)
    {
        try
        {
            // Bounded: every pass sleeps, and the passes end at WarmUpMaxDuration.
            JitStatus[]? previous = null;
            while (!load.IsCompleted)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (elapsed >= WarmUpMaxDuration)
                {
                    return $"JIT still compiling after {WarmUpMaxDuration.TotalSeconds:F0} s";
                }

                if (elapsed >= WarmUpMinDuration && end.Requests >= WarmUpMinRequests)
                {
                    var now = await stack.SampleJitAsync();
                    if (previous is not null && JitStatus.IsQuiet(previous, now, JitQuietPeriod))
                    {
                        return $"every process spent under 1% of the last {JitQuietPeriod.TotalSeconds:F0} s compiling";
                    }

                    previous = now;
                }

                await Task.Delay(JitQuietPeriod);
            }

            return "load ended early";
        }
        finally
        {
            end.Reached = true;
        }
    }

    private static async Task<int> RunLoadAsync(BenchClient[] clients, BrokerArguments a, int count, long[]? samples, Func<TimeSpan, int, bool>? enough)
    {
        int next = -1;
        int done = 0;
        long started = Stopwatch.GetTimestamp();
        using var failed = new CancellationTokenSource();

        async Task LoopAsync(BenchClient client)
        {
            // Bounded by count (and by duration during the warm-up).
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= count || failed.IsCancellationRequested
                    || (enough is not null && enough(Stopwatch.GetElapsedTime(started), Volatile.Read(ref done))))
                {
                    return;
                }

                // Every request carries its own number, and the echo must bring it back: a reply matched to
                // the wrong request fails the run.
                var payload = new byte[a.Size];
                BinaryPrimitives.TryWriteInt32LittleEndian(payload, i);
                long t0 = Stopwatch.GetTimestamp();
                Message reply;
                try
                {
                    // No caller token: a cancellable one costs the async client a registration per request.
                    reply = await client.RequestAsync(new Message(1).Append(payload));
                }
                catch (MdpRequestFailedException ex)
                {
                    await failed.CancelAsync();
                    throw new BenchmarkFailedException(string.Create(CultureInfo.InvariantCulture, $"request {i} failed: {ex.Message}"));
                }

                long elapsed = Stopwatch.GetTimestamp() - t0;
                if (samples is not null)
                {
                    samples[i] = elapsed;
                }

                if (reply.Count != 1 || !reply[0].Span.SequenceEqual(payload))
                {
                    await failed.CancelAsync();
                    throw new BenchmarkFailedException(string.Create(
                        CultureInfo.InvariantCulture,
                        $"reply to request {i} has {reply.Count} frame(s) and {reply.TotalLength} bytes and is not its echo ({a.Size} bytes in one frame)"));
                }

                Interlocked.Increment(ref done);
            }
        }

        var loops = new List<Task>(clients.Length * a.Window);
        foreach (var client in clients)
        {
            // One loop per outstanding request: W per async client, one per sync client.
            for (int w = 0; w < client.Concurrency; w++)
            {
                loops.Add(Task.Run(() => LoopAsync(client)));
            }
        }

        await Task.WhenAll(loops);
        return done;
    }

    /// <summary>Waits until the broker knows all our workers (mmi.workers), or any worker (mmi.service) for a foreign broker.</summary>
    private static async Task WaitForWorkersAsync(string endpoint, BrokerArguments a, bool external)
    {
        await using var client = new MajordomoClient(new MajordomoClientOptions
        {
            BrokerEndpoint = endpoint,
            Version = a.Version,
            SocketType = a.Version == MdpVersion.V01 ? MdpClientSocket.Req : MdpClientSocket.Dealer,
            Timeout = TimeSpan.FromSeconds(1),
            Retries = 0,
        });
        long started = Stopwatch.GetTimestamp();
        bool countable = true;
        string last = "no answer";

        // Bounded by RegistrationTimeout.
        while (Stopwatch.GetElapsedTime(started) < RegistrationTimeout)
        {
            try
            {
                if (countable)
                {
                    var reply = await client.RequestAsync(MajordomoBroker.WorkersService, Message.FromStrings(BrokerArguments.Service));
                    string? status = Mmi.ReadStatus(reply.Body);
                    if (status == Mmi.Found && reply.Body.Count == 2
                        && int.TryParse(Encoding.ASCII.GetString(reply.Body[1].Span), NumberStyles.None, CultureInfo.InvariantCulture, out int registered))
                    {
                        last = string.Create(CultureInfo.InvariantCulture, $"{registered} of {a.Workers} workers registered");
                        if (registered >= a.Workers && (registered > 0 || !external))
                        {
                            return;
                        }
                    }
                    else
                    {
                        // Not our broker (the zguide's answers 501): all it can say is whether a worker is there.
                        countable = false;
                    }
                }
                else
                {
                    string status = await client.QueryServiceAsync(BrokerArguments.Service);
                    last = "mmi.service says " + status;
                    if (status == Mmi.Found)
                    {
                        return;
                    }
                }
            }
            catch (MdpRequestFailedException ex)
            {
                last = ex.Message;
            }

            await Task.Delay(PollInterval, TimeProvider.System);
        }

        throw new BenchmarkFailedException($"workers not registered with the broker at {endpoint} within {RegistrationTimeout.TotalSeconds} s ({last})");
    }

    private static string Summarize(BrokerArguments a, double seconds, long[] samples)
    {
        var micros = new double[samples.Length];
        for (int i = 0; i < samples.Length; i++)
        {
            micros[i] = samples[i] * 1e6 / Stopwatch.Frequency;
        }

        Array.Sort(micros);
        double rate = a.Requests / seconds;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"broker: {a.Requests} requests, {a.Workers} workers, {a.Clients} clients, mode {a.ModeName}: {rate:F0} req/s, p50 {Latency.Percentile(micros, 0.50):F1} us, p99 {Latency.Percentile(micros, 0.99):F1} us");
    }

    /// <summary>One client of any kind, as the load loops see it.</summary>
    private abstract class BenchClient : IAsyncDisposable
    {
        /// <summary>Requests this client keeps outstanding.</summary>
        public abstract int Concurrency { get; }

        public static BenchClient Create(BrokerArguments a, string endpoint) => a.Mode switch
        {
            ClientMode.Async => new AsyncBenchClient(a, endpoint),
            ClientMode.Sync => new SyncBenchClient(a, endpoint),
            _ => new PipelinedBenchClient(a, endpoint),
        };

        /// <summary>Sends one request; completes with the body of its reply.</summary>
        public abstract Task<Message> RequestAsync(Message body);

        public abstract ValueTask DisposeAsync();
    }

    private sealed class AsyncBenchClient(BrokerArguments a, string endpoint) : BenchClient
    {
        // The async client carries one request per service per connection, so the window needs that many connections.
        private readonly MajordomoAsyncClient _client = new(new MajordomoAsyncClientOptions
        {
            BrokerEndpoint = endpoint,
            Version = a.Version,
            Timeout = a.Timeout,
            MaxConnections = a.Window,
            UnsafeInlineCompletions = a.UnsafeInline,
        });

        public override int Concurrency => a.Window;

        public override async Task<Message> RequestAsync(Message body) => (await _client.RequestAsync(BrokerArguments.Service, body)).Body;

        public override ValueTask DisposeAsync() => _client.DisposeAsync();
    }

    private sealed class SyncBenchClient(BrokerArguments a, string endpoint) : BenchClient
    {
        // REQ like the zguide's mdcliapi for MDP/0.1; RFC 18 requires a DEALER for 0.2. No retries: a lost request is a failure.
        private readonly MajordomoClient _client = new(new MajordomoClientOptions
        {
            BrokerEndpoint = endpoint,
            Version = a.Version,
            SocketType = a.Version == MdpVersion.V01 ? MdpClientSocket.Req : MdpClientSocket.Dealer,
            Timeout = a.Timeout,
            Retries = 0,
        });

        public override int Concurrency => 1;

        public override async Task<Message> RequestAsync(Message body) => (await _client.RequestAsync(BrokerArguments.Service, body)).Body;

        public override ValueTask DisposeAsync() => _client.DisposeAsync();
    }

    /// <summary>
    /// The window on one DEALER connection, as the zguide's mdclient2 sends: every request carries its number in its
    /// first four body bytes and the echo brings it back, which is how a reply finds its request. Not a general
    /// client (it relies on the echo); it shows what the broker costs when the client side of the traffic batches.
    /// </summary>
    private sealed class PipelinedBenchClient : BenchClient
    {
        private readonly BrokerArguments _a;
        private readonly DealerSocket _socket = new(new SocketOptions { Linger = TimeSpan.Zero });
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, TaskCompletionSource<Message>> _waiting = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _receiving;

        public PipelinedBenchClient(BrokerArguments a, string endpoint)
        {
            _a = a;
            _socket.Connect(endpoint);
            _receiving = Task.Run(ReceiveLoopAsync);
        }

        public override int Concurrency => _a.Window;

        public override async Task<Message> RequestAsync(Message body)
        {
            int number = BinaryPrimitives.ReadInt32LittleEndian(body[0].Span);
            var completion = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_waiting.TryAdd(number, completion))
            {
                throw new BenchmarkFailedException(string.Create(CultureInfo.InvariantCulture, $"request number {number} is already in flight"));
            }

            var message = MdpCodec.BuildFromClient(new ClientRequest(BrokerArguments.Service, body), _a.Version, MdpClientSocket.Dealer);
            await _socket.TrySendAsync(message, Timeout.InfiniteTimeSpan);
            using var timeout = new CancellationTokenSource(_a.Timeout, TimeProvider.System);
            try
            {
                return await completion.Task.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _waiting.TryRemove(number, out _);
                throw new MdpRequestFailedException(BrokerArguments.Service, 1, "pipelined", $"no reply within {_a.Timeout.TotalMilliseconds} ms");
            }
        }

        private async Task ReceiveLoopAsync()
        {
            // Bounded by the client's lifetime: disposal cancels the receive.
            while (!_stop.IsCancellationRequested)
            {
                Message message;
                try
                {
                    message = await _socket.ReceiveAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }

                var parsed = MdpCodec.ParseAtClient(message, MdpClientSocket.Dealer);
                if (!parsed.IsSuccess || parsed.Command is ClientPartial || parsed.Command.Body.Count == 0 || parsed.Command.Body[0].Length < sizeof(int))
                {
                    continue;
                }

                int number = BinaryPrimitives.ReadInt32LittleEndian(parsed.Command.Body[0].Span);
                if (_waiting.TryRemove(number, out var completion))
                {
                    completion.TrySetResult(new Message(parsed.Command.Body));
                }
            }
        }

        public override async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _receiving;
            await _socket.DisposeAsync();
            _stop.Dispose();
        }
    }

    /// <summary>The broker and the workers: in this process, spawned, or (the broker) external.</summary>
    private sealed class Stack(BrokerArguments a) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Child> _children = [];
        private readonly List<Task> _inProcess = [];
        private MajordomoBroker? _broker;
        private Child? _brokerChild;
        private Process? _externalBroker;

        private bool BrokerInProcess => a.Endpoint is null && !a.Spawn;

        private bool WorkersInProcess => !a.Spawn && a.Workers > 0;

        public async Task<string> StartAsync()
        {
            string endpoint;
            if (a.Endpoint is not null)
            {
                endpoint = a.Endpoint;
                if (a.BrokerPid is { } pid)
                {
                    _externalBroker = Process.GetProcessById(pid);
                }
            }
            else if (a.Spawn)
            {
                _brokerChild = Child.Start(["broker-serve", "--endpoint", "tcp://127.0.0.1:0", "--mdp", a.VersionName]);
                _children.Add(_brokerChild);
                string line = await _brokerChild.ReadLineAsync(TimeSpan.FromSeconds(30)) ?? string.Empty;
                if (!line.StartsWith("endpoint: ", StringComparison.Ordinal))
                {
                    throw new BenchmarkFailedException($"broker-serve did not report its endpoint (got '{line}')");
                }

                endpoint = line["endpoint: ".Length..];
            }
            else
            {
                _broker = new MajordomoBroker(new BrokerOptions { Endpoints = ["tcp://127.0.0.1:0"] });
                endpoint = _broker.Bind()[0];
                _inProcess.Add(_broker.RunAsync(_stop.Token));
            }

            if (a.Spawn)
            {
                // One process per worker, as the zguide's mdworker is run.
                for (int i = 0; i < a.Workers; i++)
                {
                    string[] worker = ["broker-worker", "--endpoint", endpoint, "--mdp", a.VersionName];
                    _children.Add(Child.Start(a.UnsafeInline ? [.. worker, "--unsafe-inline"] : worker));
                }
            }
            else if (a.Workers > 0)
            {
                _inProcess.AddRange(StartWorkers(endpoint, a, _stop.Token));
            }

            return endpoint;
        }

        /// <summary>JIT totals of this process and of every spawned role (an external broker is not asked).</summary>
        public async Task<JitStatus[]> SampleJitAsync()
        {
            var answers = await Task.WhenAll(_children.Select(child => child.QueryJitAsync()));
            return [JitStatus.OfThisProcess(), .. answers];
        }

        public Dictionary<string, CpuSample> SampleCpu()
        {
            var cpu = new Dictionary<string, CpuSample>(StringComparer.Ordinal)
            {
                ["self"] = CpuSample.Of(Process.GetCurrentProcess()),
            };
            if (_brokerChild is not null)
            {
                cpu["broker"] = CpuSample.Of(_brokerChild.Process);
            }
            else if (_externalBroker is not null)
            {
                cpu["broker"] = CpuSample.Of(_externalBroker);
            }

            var workers = default(CpuSample);
            foreach (var child in _children.Where(c => c != _brokerChild))
            {
                workers = workers.Plus(CpuSample.Of(child.Process));
            }

            cpu["workers"] = workers;
            return cpu;
        }

        /// <summary>
        /// The broker's peak resident set (VmHWM, over its whole life, warm-up included) for the stderr line
        /// <c>rss broker (…): peak N MiB</c> that broker-rounds.sh reads; in process, it is this process's peak.
        /// </summary>
        public string DescribeBrokerPeakRss()
        {
            var (pid, what) = _brokerChild is not null ? (_brokerChild.Process.Id, "spawned process")
                : _externalBroker is not null ? (_externalBroker.Id, "external process")
                : (Environment.ProcessId, "this process");
            return $"rss broker ({what}): peak {PeakRss.DescribeMebibytes(pid)}";
        }

        /// <summary>Prints CPU time per request for each process role, then the total (stderr; stdout's last line is the contract).</summary>
        public void ReportCpu(Dictionary<string, CpuSample> before, Dictionary<string, CpuSample> after, int requests)
        {
            var roles = new List<string> { "client" };
            if (BrokerInProcess)
            {
                roles.Add("broker");
            }

            if (WorkersInProcess)
            {
                roles.Add("workers");
            }

            var self = after["self"].Minus(before["self"]);
            var total = self;
            Console.Error.WriteLine($"cpu {string.Join('+', roles)} (this process): {self.Describe(requests)}");
            if (after.TryGetValue("broker", out var brokerAfter))
            {
                var broker = brokerAfter.Minus(before["broker"]);
                total = total.Plus(broker);
                string what = _brokerChild is not null ? "spawned" : "external";
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu broker ({what} process): {broker.Describe(requests)}"));
            }

            if (a.Spawn && a.Workers > 0)
            {
                var workers = after["workers"].Minus(before["workers"]);
                total = total.Plus(workers);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu workers ({a.Workers} spawned processes): {workers.Describe(requests)}"));
            }

            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu total: {total.Describe(requests)}"));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            if (_broker is not null)
            {
                await _broker.DisposeAsync();
            }

            // Workers stop on the token; the broker's RunAsync completes once it is disposed.
            await Task.WhenAll(_inProcess).WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System).ContinueWith(static _ => { }, TaskScheduler.Default);

            // Workers first, so they do not spend the broker's shutdown reconnecting.
            foreach (var child in Enumerable.Reverse(_children))
            {
                await child.DisposeAsync();
            }

            _externalBroker?.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>
    /// A spawned role: this same program with a broker sub-command. It stops when its standard input
    /// closes; only if it does not, this exact process (never a group or a name) is killed.
    /// </summary>
    private sealed class Child : IAsyncDisposable
    {
        private Child(Process process)
        {
            Process = process;
        }

        public Process Process { get; }

        public static Child Start(string[] arguments)
        {
            // Run as the apphost when there is one, otherwise as 'dotnet Reliability.Benchmarks.dll'.
            string? host = Environment.ProcessPath;
            var start = new ProcessStartInfo
            {
                UseShellExecute = false,
                RedirectStandardInput = true,

                // The broker's endpoint line and every role's JIT answers come back this way.
                RedirectStandardOutput = true,
            };
            if (host is null || Path.GetFileNameWithoutExtension(host) == "dotnet")
            {
                start.FileName = host ?? "dotnet";
                start.ArgumentList.Add(typeof(BrokerWorkload).Assembly.Location);
            }
            else
            {
                start.FileName = host;
            }

            foreach (string argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            return new Child(Process.Start(start) ?? throw new BenchmarkFailedException($"could not start {start.FileName}"));
        }

        public async Task<string?> ReadLineAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout, TimeProvider.System);
            try
            {
                return await Process.StandardOutput.ReadLineAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        /// <summary>Asks the role for its JIT totals (see <see cref="StandardInputClosedAsync"/>).</summary>
        public async Task<JitStatus> QueryJitAsync()
        {
            await Process.StandardInput.WriteLineAsync(JitStatus.Query);
            await Process.StandardInput.FlushAsync();
            string line = await ReadLineAsync(TimeSpan.FromSeconds(10)) ?? string.Empty;
            return JitStatus.Parse(line) ?? throw new BenchmarkFailedException($"child {Process.Id} did not report its JIT totals (got '{line}')");
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                Process.StandardInput.Close();
                using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
                await Process.WaitForExitAsync(cancel.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
                if (!Process.HasExited)
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Reliability.Benchmarks: child {Process.Id} did not stop; killing it"));
                    Process.Kill(entireProcessTree: false);
                }
            }

            Process.Dispose();
        }
    }
}

/// <summary>The peak resident set of a process, from Linux's /proc/PID/status.</summary>
internal static class PeakRss
{
    /// <summary>"N MiB", or "unknown" where /proc does not say (not Linux, or the process is gone).</summary>
    public static string DescribeMebibytes(int pid)
    {
        try
        {
            // The line is "VmHWM:   123456 kB".
            string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            string[] parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
            return parts.Length == 3 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kib)
                ? string.Create(CultureInfo.InvariantCulture, $"{kib / 1024.0:F0} MiB")
                : "unknown";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}

/// <summary>CPU time of one or more processes.</summary>
internal readonly record struct CpuSample(TimeSpan User, TimeSpan Total, int Processes)
{
    public static CpuSample Of(Process process)
    {
        process.Refresh();
        return new CpuSample(process.UserProcessorTime, process.TotalProcessorTime, 1);
    }

    public CpuSample Plus(CpuSample other) => new(User + other.User, Total + other.Total, Processes + other.Processes);

    public CpuSample Minus(CpuSample earlier) => new(User - earlier.User, Total - earlier.Total, Processes);

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"cpu user {User.TotalSeconds:F3} s, sys {(Total - User).TotalSeconds:F3} s");

    public string Describe(int requests) => string.Create(
        CultureInfo.InvariantCulture,
        $"{Total.TotalMicroseconds / requests:F2} us/req (user {User.TotalSeconds:F3} s, sys {(Total - User).TotalSeconds:F3} s, {requests} requests)");
}

/// <summary>
/// Allocations, collections, thread-pool work items and lock contentions of this process over the measured
/// run: the work items per request count the hops between threads that the request's messages take.
/// </summary>
internal readonly record struct GcSample(long Allocated, int Gen0, int Gen1, int Gen2, long WorkItems, long Contentions)
{
    public static GcSample Take() => new(
        GC.GetTotalAllocatedBytes(precise: false),
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        ThreadPool.CompletedWorkItemCount,
        Monitor.LockContentionCount);

    public string Describe(int requests)
    {
        var now = Take();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"gc (this process): {(double)(now.Allocated - Allocated) / requests:F0} B/req allocated, collections gen0 {now.Gen0 - Gen0}, gen1 {now.Gen1 - Gen1}, gen2 {now.Gen2 - Gen2}; thread pool {(double)(now.WorkItems - WorkItems) / requests:F2} work items/req, {(double)(now.Contentions - Contentions) / requests:F3} lock contentions/req");
    }
}

/// <summary>Totals over a spawned role's life (warm-up included), printed when it stops.</summary>
internal static class RuntimeCounters
{
    public static string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"{ThreadPool.CompletedWorkItemCount} thread-pool work items, {Monitor.LockContentionCount} lock contentions, {GC.GetTotalAllocatedBytes(precise: false) >> 20} MiB allocated, {ThreadPool.ThreadCount} pool threads, JIT {System.Runtime.JitInfo.GetCompiledMethodCount()} methods in {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms");
}

/// <summary>The warm-up's stop flag and its request count, shared by the load loops and the controller.</summary>
internal sealed class WarmUpEnd
{
    private int _requests;
    private volatile bool _reached;

    /// <summary>Set once the warm-up should end; the load loops stop taking new requests.</summary>
    public bool Reached
    {
        get => _reached;
        set => _reached = value;
    }

    /// <summary>Requests answered so far, as last seen by <see cref="Check"/>.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The load loops' stop test: records how many requests are done and says whether to stop.</summary>
    public bool Check(TimeSpan elapsed, int done)
    {
        Volatile.Write(ref _requests, done);
        return _reached;
    }
}

/// <summary>A process's JIT totals, as a spawned role reports them on its standard output.</summary>
internal readonly record struct JitStatus(long Methods, double Milliseconds)
{
    /// <summary>The line a spawned role answers on its standard output.</summary>
    public const string Query = "jit?";

    private const string Prefix = "jit: ";

    public static JitStatus OfThisProcess() =>
        new(System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds);

    public string Format() => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Methods} {Milliseconds:F1}");

    public static JitStatus? Parse(string line)
    {
        var parts = line.StartsWith(Prefix, StringComparison.Ordinal) ? line[Prefix.Length..].Split(' ') : [];
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long methods)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double ms)
            ? new JitStatus(methods, ms)
            : null;
    }

    /// <summary>
    /// Whether every process compiled for less than 1% of <paramref name="period"/> between the samples. Not
    /// "no method at all": rarely run code (timers, the thread pool's housekeeping, this controller) keeps
    /// reaching its 30 calls and tiering up for minutes, at a cost too small to matter.
    /// </summary>
    public static bool IsQuiet(JitStatus[] earlier, JitStatus[] later, TimeSpan period) =>
        earlier.Length == later.Length && earlier.Zip(later).All(p => p.Second.Milliseconds - p.First.Milliseconds < period.TotalMilliseconds / 100);

    /// <summary>What the processes compiled between two samples (this process first, then the spawned roles).</summary>
    public static string DescribeGrowth(JitStatus[] before, JitStatus[] after) => string.Create(
        CultureInfo.InvariantCulture,
        $"jit during the measured run: {after.Sum(s => s.Methods) - before.Sum(s => s.Methods)} methods, {after.Sum(s => s.Milliseconds) - before.Sum(s => s.Milliseconds):F0} ms (all processes; per process, this one first: {string.Join(", ", before.Zip(after, (b, a) => $"{a.Methods - b.Methods}/{a.Milliseconds - b.Milliseconds:F0} ms"))})");
}
