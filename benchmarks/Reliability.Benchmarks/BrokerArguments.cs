using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Reliability.Mdp.Protocol;

namespace Reliability.Benchmarks;

/// <summary>The three processes of the broker workload: the measuring one and the two it can spawn.</summary>
internal enum BrokerRole
{
    /// <summary><c>broker</c>: clients (and, unless spawned or external, the broker and the workers), measures.</summary>
    Bench,

    /// <summary><c>broker-serve</c>: a <c>MajordomoBroker</c> until standard input closes.</summary>
    Serve,

    /// <summary><c>broker-worker</c>: echo workers until standard input closes.</summary>
    Worker,
}

/// <summary>How the clients wait for replies.</summary>
internal enum ClientMode
{
    /// <summary><c>MajordomoAsyncClient</c>, a window of requests outstanding per client.</summary>
    Async,

    /// <summary><c>MajordomoClient</c>, one request at a time per client.</summary>
    Sync,

    /// <summary>
    /// One bare DEALER per client speaking MDP client frames with a window of requests outstanding on
    /// that one connection, replies matched by the request number the echo carries back (the zguide's
    /// mdclient2 way): what the broker does when the client side batches, for comparison.
    /// </summary>
    Pipelined,

    /// <summary>
    /// One bare DEALER per client that sends all of its requests before it reads any reply (the zguide's
    /// mdclient2 as written): what flow control in the broker must carry without dropping a request.
    /// </summary>
    Upfront,
}

/// <summary>
/// Parsed command line of the broker workload: <c>broker [--option value]... [--spawn]</c> and the
/// sub-commands it spawns, <c>broker-serve</c> and <c>broker-worker</c>.
/// </summary>
internal sealed record BrokerArguments
{
    public const string Service = "echo";

    // Large enough for any run this machine finishes, small enough that int arithmetic never overflows.
    private const int MaxRequests = 100_000_000;
    private const int MaxPeers = 64;
    private const int MaxSize = 1 << 20;
    private const int MaxTimeoutMs = 3_600_000;

    public const string Usage =
        """
        usage: Reliability.Benchmarks broker [--workers N] [--clients C] [--window W] [--requests R] [--size B]
                                             [--mode async|sync|pipelined|upfront] [--mdp 0.1|0.2] [--timeout MS] [--flood F]
                                             [--spawn] [--unsafe-inline] [--endpoint E [--broker-pid P]]
               Reliability.Benchmarks broker-serve [--endpoint E] [--mdp 0.1|0.2]
               Reliability.Benchmarks broker-worker --endpoint E [--workers N] [--mdp 0.1|0.2] [--unsafe-inline]
          broker: R requests of B bytes to service 'echo' through a Majordomo broker to N echo workers,
            from C clients; prints 'broker: R requests, N workers, C clients, mode M: X req/s, p50 Y us, p99 Z us'
            --workers N    echo workers, 1..64 (default 2; 0 with --endpoint: the broker's workers are external)
            --clients C    clients, 1..64 (default 1)
            --window W     async, pipelined: requests outstanding per client, 1..4096 (default 100); sync: 1 or unset;
                           upfront: unset (every request is outstanding; the warm-up runs pipelined, window 100)
            --requests R   measured requests in all, 1..100000000 (default 100000), after a warm-up
            --size B       request body in bytes, 0..1048576 (default 16); the workers echo it
            --mode M       async: MajordomoAsyncClient; sync: MajordomoClient, one request at a time (default async);
                           pipelined: a bare DEALER per client, the window on one connection (for comparison; --size 4+);
                           upfront: a bare DEALER per client sends all its requests, then reads the replies (--size 4+)
            --mdp V        protocol version of clients and workers (default 0.1)
            --timeout MS   per request, 1..3600000 (default 10000); a timed-out request fails the run
            --flood F      a flooding client alongside the measured run: one more bare DEALER sends F requests
                           before it reads a reply (0..100000000, default 0); the summary stays the measured
                           clients', so the same run without --flood gives the quiet latency to compare with
            --spawn        run the broker and each worker as a process of its own (broker-serve, broker-worker)
            --unsafe-inline  async clients with UnsafeInlineCompletions and workers with UnsafeInlineHandler
                           (the caller's code and the echo handler run on the I/O thread: no thread hop)
            --endpoint E   use the broker at E instead of starting one (e.g. the zguide's C mdbroker)
            --broker-pid P with --endpoint: also report the CPU time of process P (the external broker)
          broker-serve: MajordomoBroker bound to E (default tcp://127.0.0.1:0); prints 'endpoint: E'; stops when stdin closes
          broker-worker: N echo workers (default 1) for 'echo' at E; stops when stdin closes
        """;

    public BrokerRole Role { get; init; }

    public int Workers { get; init; } = 2;

    public int Clients { get; init; } = 1;

    /// <summary>Clients and workers run the caller's code on the I/O thread (the Unsafe... options).</summary>
    public bool UnsafeInline { get; init; }

    public int Window { get; init; } = 100;

    public int Requests { get; init; } = 100_000;

    public int Size { get; init; } = 16;

    public ClientMode Mode { get; init; } = ClientMode.Async;

    public MdpVersion Version { get; init; } = MdpVersion.V01;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    public bool Spawn { get; init; }

    /// <summary>bench: an external broker (null: start one); serve: where to bind; worker: the broker.</summary>
    public string? Endpoint { get; init; }

    public int? BrokerPid { get; init; }

    /// <summary>Requests a flooding upfront client sends alongside the measured run (0: none): the fairness run.</summary>
    public int Flood { get; init; }

    public string ModeName => Mode switch
    {
        ClientMode.Async => "async",
        ClientMode.Sync => "sync",
        ClientMode.Pipelined => "pipelined",
        _ => "upfront",
    };

    public string VersionName => Version.Number();

    /// <summary>True when <paramref name="command"/> names one of the broker sub-commands.</summary>
    public static bool IsBrokerCommand(string command) => command is "broker" or "broker-serve" or "broker-worker";

    /// <summary>Parses a broker sub-command line; false with <paramref name="problem"/> null means usage was asked for.</summary>
    public static bool TryParse(string[] args, [NotNullWhen(true)] out BrokerArguments? arguments, out string? problem)
    {
        arguments = null;
        problem = null;
        if (args.Length == 0)
        {
            problem = "no sub-command";
            return false;
        }

        var role = args[0] switch
        {
            "broker" => BrokerRole.Bench,
            "broker-serve" => BrokerRole.Serve,
            "broker-worker" => BrokerRole.Worker,
            _ => (BrokerRole?)null,
        };
        if (role is null)
        {
            problem = $"unknown sub-command '{args[0]}'";
            return false;
        }

        var allowed = role switch
        {
            BrokerRole.Bench => new[] { "workers", "clients", "window", "requests", "size", "mode", "mdp", "timeout", "flood", "spawn", "unsafe-inline", "endpoint", "broker-pid" },
            BrokerRole.Serve => ["endpoint", "mdp"],
            _ => ["endpoint", "workers", "mdp", "unsafe-inline"],
        };

        // --spawn and --unsafe-inline are flags; every other option takes a value.
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--help")
            {
                // Usage only, no complaint.
                return false;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || !allowed.Contains(arg[2..]))
            {
                problem = $"unknown option '{arg}' for {args[0]}";
                return false;
            }

            string name = arg[2..];
            string value = "true";
            if (name is not ("spawn" or "unsafe-inline"))
            {
                if (i + 1 >= args.Length)
                {
                    problem = $"{arg} needs a value";
                    return false;
                }

                value = args[++i];
            }

            if (!values.TryAdd(name, value))
            {
                problem = $"{arg} given twice";
                return false;
            }
        }

        var a = new BrokerArguments { Role = role.Value };
        if (role == BrokerRole.Worker)
        {
            // One worker per spawned process unless told otherwise.
            a = a with { Workers = 1 };
        }

        if (!Int(values, "workers", 0, MaxPeers, a.Workers, out int workers, ref problem)
            || !Int(values, "clients", 1, MaxPeers, a.Clients, out int clients, ref problem)
            || !Int(values, "window", 1, 4096, a.Window, out int window, ref problem)
            || !Int(values, "requests", 1, MaxRequests, a.Requests, out int requests, ref problem)
            || !Int(values, "size", 0, MaxSize, a.Size, out int size, ref problem)
            || !Int(values, "timeout", 1, MaxTimeoutMs, (int)a.Timeout.TotalMilliseconds, out int timeoutMs, ref problem)
            || !Int(values, "flood", 0, MaxRequests, 0, out int flood, ref problem)
            || !Int(values, "broker-pid", 1, int.MaxValue, 0, out int brokerPid, ref problem))
        {
            return false;
        }

        var mode = values.GetValueOrDefault("mode", "async") switch
        {
            "async" => ClientMode.Async,
            "sync" => ClientMode.Sync,
            "pipelined" => ClientMode.Pipelined,
            "upfront" => ClientMode.Upfront,
            _ => (ClientMode?)null,
        };
        MdpVersion? version = MdpVersions.TryParse(values.GetValueOrDefault("mdp", "0.1"), out var parsed) ? parsed : null;
        values.TryGetValue("endpoint", out string? endpoint);
        if (mode is null || version is null)
        {
            problem = mode is null ? "--mode must be async, sync, pipelined or upfront" : "--mdp must be 0.1 or 0.2";
            return false;
        }

        problem = (role, endpoint) switch
        {
            (_, not null) when string.IsNullOrWhiteSpace(endpoint) || !endpoint.Contains("://", StringComparison.Ordinal) =>
                $"--endpoint '{endpoint}' is not of the form tcp://host:port",
            (BrokerRole.Worker, null) => "broker-worker needs --endpoint",
            (BrokerRole.Worker, _) when workers == 0 => "broker-worker needs --workers 1 or more",
            (BrokerRole.Bench, null) when workers == 0 => "--workers 0 needs --endpoint (a broker with external workers)",
            (BrokerRole.Bench, null) when values.ContainsKey("broker-pid") => "--broker-pid needs --endpoint",
            (BrokerRole.Bench, _) when mode == ClientMode.Sync && window != 1 && values.ContainsKey("window") =>
                "--window applies to --mode async and pipelined (a sync client has one request outstanding)",
            (BrokerRole.Bench, _) when mode == ClientMode.Upfront && values.ContainsKey("window") =>
                "--window applies to --mode async and pipelined (an upfront client has all its requests outstanding)",
            (BrokerRole.Bench, _) when mode is ClientMode.Pipelined or ClientMode.Upfront && size < sizeof(int) =>
                $"--mode {values["mode"]} needs --size 4 or more (replies are matched by the request number in the body)",
            _ => null,
        };
        if (problem is not null)
        {
            return false;
        }

        arguments = a with
        {
            Workers = workers,
            Clients = clients,
            Window = mode == ClientMode.Sync ? 1 : window,
            Requests = requests,
            Size = size,
            Mode = mode.Value,
            Version = version.Value,
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            Spawn = values.ContainsKey("spawn"),
            UnsafeInline = values.ContainsKey("unsafe-inline"),
            Endpoint = endpoint ?? (role == BrokerRole.Serve ? "tcp://127.0.0.1:0" : null),
            BrokerPid = values.ContainsKey("broker-pid") ? brokerPid : null,
            Flood = flood,
        };
        return true;
    }

    private static bool Int(Dictionary<string, string> values, string name, int min, int max, int fallback, out int value, ref string? problem)
    {
        if (!values.TryGetValue(name, out string? text))
        {
            value = fallback;
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        problem = string.Create(CultureInfo.InvariantCulture, $"--{name} must be {min}..{max} (was '{text}')");
        return false;
    }
}
