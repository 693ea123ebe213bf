using Reliability.Mdp.Broker;

namespace Reliability.Mdp.Broker.Service;

/// <summary>
/// The <c>mdbroker</c> command line: <c>--name value</c> or <c>--name=value</c>, <c>--bind</c> repeatable.
/// Every option maps to a setting of the same schema as the configuration file and the environment
/// (<see cref="BrokerSettings"/>), so the three sources cannot disagree about names or units.
/// </summary>
internal sealed class ServiceCommandLine
{
    /// <summary>Option name → setting key; the service's own settings are <see cref="ServiceSettings"/> keys.</summary>
    public static IReadOnlyList<(string Option, string Key, string Value, string Help)> Options { get; } =
    [
        ("bind", BrokerSettings.Bind, "E", $"endpoint to listen on; repeatable (default {BrokerOptions.DefaultEndpoint})"),
        ("heartbeat", BrokerSettings.HeartbeatMs, "MS", "heartbeat interval in milliseconds (default 2500)"),
        ("liveness", BrokerSettings.Liveness, "N", "missed heartbeats before a worker is expired (default 3)"),
        ("request-expiry", BrokerSettings.RequestExpiryMs, "MS", "how long a request waits for a worker (default 30000)"),
        ("max-requeues", BrokerSettings.MaxRequeues, "N", "times a request whose worker was lost is requeued (default 2)"),
        ("max-queue", BrokerSettings.MaxQueuedRequestsPerService, "N", "requests queued per service before its senders are paused (default 10000)"),
        ("max-client-queue", BrokerSettings.MaxQueuedRequestsPerClient, "N", "requests and unread replies per client before it is paused (default 100000)"),
        ("max-total-queue", BrokerSettings.MaxQueuedRequests, "N", "requests and unread replies in all before senders are paused (default 1000000)"),
        ("max-client-bytes", BrokerSettings.MaxQueuedBytesPerClient, "B", "the per-client limit in bytes (default 67108864)"),
        ("max-service-bytes", BrokerSettings.MaxQueuedBytesPerService, "B", "the per-service limit in bytes (default 134217728)"),
        ("max-total-bytes", BrokerSettings.MaxQueuedBytes, "B", "the total limit in bytes (default 536870912)"),
        ("max-services", BrokerSettings.MaxServices, "N", "most services known at once (default 1000)"),
        ("max-workers", BrokerSettings.MaxWorkers, "N", "most workers registered at once (default 10000)"),
        ("max-service-name", BrokerSettings.MaxServiceNameLength, "N", "longest service name in bytes (default 255)"),
        ("max-message-size", BrokerSettings.MaxMessageSize, "B", "largest message a peer may send; more disconnects it (default 1048576)"),
        ("handshake-timeout", BrokerSettings.HandshakeTimeoutMs, "MS", "time a new connection has to finish its handshake (default 5000)"),
        ("max-connections", BrokerSettings.MaxConnections, "N", "most connections per endpoint; more are closed at once (default 10000)"),
        ("max-handshakes", BrokerSettings.MaxHandshakes, "N", "most connections per endpoint still in their handshake (default 1000)"),
        ("shutdown-timeout", BrokerSettings.ShutdownTimeoutMs, "MS", "time to flush DISCONNECTs on shutdown (default 500)"),
        ("ha-role", BrokerSettings.HaRole, "R", "primary or backup: run as one broker of a Binary Star pair (needs --ha-local and --ha-remote)"),
        ("ha-local", BrokerSettings.HaLocal, "E", "Binary Star: endpoint this broker publishes its state on, e.g. tcp://*:5003"),
        ("ha-remote", BrokerSettings.HaRemote, "E", "Binary Star: the peer broker's state endpoint, e.g. tcp://10.0.0.2:5004"),
        ("ha-heartbeat", BrokerSettings.HaHeartbeatMs, "MS", "Binary Star: state heartbeat in milliseconds, the same on both brokers (default 1000)"),
        ("curve-secret-key", BrokerSettings.CurveSecretKey, "Z85", "serve CURVE with this secret key (prefer --curve-secret-file: a command line is visible to other users)"),
        ("curve-secret-file", BrokerSettings.CurveSecretFile, "PATH", "serve CURVE with the secret key of this czmq certificate file"),
        ("curve-allow-key", BrokerSettings.CurveAllowKeys, "Z85", "CURVE: only clients with these public keys connect; repeatable (default any key)"),
        ("curve-allow-dir", BrokerSettings.CurveAllowDir, "DIR", "CURVE: only clients whose public certificate is in DIR connect (re-read on change)"),
        ("plain-user", BrokerSettings.PlainUsers, "USER:PASS", "serve PLAIN and admit this user; repeatable (no commas in passwords)"),
        ("client-auth", BrokerSettings.ClientAuth, "A", "none, plain or curve: what clients must have authenticated with (default none)"),
        ("worker-auth", BrokerSettings.WorkerAuth, "A", "none, plain or curve: what workers must have authenticated with to register (default none)"),
        ("authorized-worker", BrokerSettings.AuthorizedWorkers, "ID", "only this CURVE key (Z85) or PLAIN user may register workers; repeatable; needs --worker-auth"),
        ("titanic", ServiceSettings.TitanicKey, "STORE", "also run Titanic (durable requests) in this process, stored in sqlite:PATH or postgres:CONNSTR"),
        ("log-level", ServiceSettings.LogLevelKey, "L", "Trace, Debug, Information, Warning, Error, Critical or None (default Information)"),
        ("log-format", ServiceSettings.LogFormatKey, "F", "simple or json (default simple)"),
        ("metrics-listen", ServiceSettings.MetricsListenKey, "URL", "serve /metrics (Prometheus text), /healthz and /readyz on this HTTP prefix, e.g. http://127.0.0.1:9464/ (default off)"),
        ("ready-services", ServiceSettings.ReadyServicesKey, "S", "comma-separated services that need a worker before /readyz answers 200 (default none)"),
        ("config", string.Empty, "PATH", "JSON configuration file (settings: " + string.Join(", ", BrokerSettings.Keys) + ", Titanic, LogLevel, LogFormat, MetricsListen, ReadyServices)"),
    ];

    /// <summary>Options besides --bind that may be given several times.</summary>
    private static readonly string[] Repeatable = [BrokerSettings.CurveAllowKeys, BrokerSettings.PlainUsers, BrokerSettings.AuthorizedWorkers];

    private ServiceCommandLine(List<KeyValuePair<string, string?>> settings, string? configPath, bool help, bool version)
    {
        Settings = settings;
        ConfigPath = configPath;
        Help = help;
        Version = version;
    }

    /// <summary>The settings given on the command line, in order (several Bind entries possible).</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> Settings { get; }

    /// <summary>The <c>--config</c> file, if any.</summary>
    public string? ConfigPath { get; }

    /// <summary>Whether <c>--help</c> was asked for.</summary>
    public bool Help { get; }

    /// <summary>Whether <c>--version</c> was asked for.</summary>
    public bool Version { get; }

    /// <summary>The line <c>--version</c> prints: <c>mdbroker X.Y.Z</c> (the package version, without the source revision).</summary>
    public static string VersionLine
    {
        get
        {
            string version = typeof(ServiceCommandLine).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>()
                .FirstOrDefault()?.InformationalVersion ?? "unknown";
            int plus = version.IndexOf('+', StringComparison.Ordinal);
            return "mdbroker " + (plus >= 0 ? version[..plus] : version);
        }
    }

    /// <summary>The usage text.</summary>
    public static string Usage
    {
        get
        {
            var lines = new List<string>
            {
                "usage: mdbroker [options]",
                "Runs a Majordomo broker (MDP/0.1 and MDP/0.2, MMI). Settings come from, in increasing priority:",
                "defaults, the --config JSON file, MDBROKER_* environment variables (e.g. MDBROKER_HEARTBEATMS=1000,",
                "MDBROKER_BIND=tcp://*:5555,tcp://*:5556), and these options:",
            };
            foreach (var (option, _, value, help) in Options)
            {
                lines.Add($"  --{option} {value}".PadRight(28) + help);
            }

            lines.Add("  --help".PadRight(28) + "show this text");
            lines.Add("  --version".PadRight(28) + "print 'mdbroker' and the version, and exit");
            lines.Add("Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot listen, 2 bad options, 3 Binary Star split brain, 4 cannot open the --titanic store.");
            return string.Join(Environment.NewLine, lines);
        }
    }

    /// <summary>Parses <paramref name="args"/>; problems are added to <paramref name="problems"/> (all of them, not just the first).</summary>
    public static ServiceCommandLine Parse(IReadOnlyList<string> args, List<string> problems)
    {
        var settings = new List<KeyValuePair<string, string?>>();
        string? configPath = null;
        bool help = false;
        bool version = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                help = true;
                continue;
            }

            if (arg == "--version")
            {
                version = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                problems.Add($"unexpected argument '{arg}'");
                continue;
            }

            string name = arg[2..];
            string? value = null;
            int equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }

            var option = Options.FirstOrDefault(o => o.Option == name);
            if (option.Option is null)
            {
                problems.Add($"unknown option '--{name}'");

                // Skip its value too, so that one mistake is reported once.
                if (value is null && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    i++;
                }

                continue;
            }

            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    problems.Add($"option '--{name}' needs a value ({option.Value})");
                    continue;
                }

                value = args[++i];
            }

            if (name == "config")
            {
                configPath = value;
            }
            else if (option.Key == BrokerSettings.Bind || Repeatable.Contains(option.Key))
            {
                // Repeated options become indexed entries (Bind:0, Bind:1, ...), as a JSON array would.
                settings.Add(new(option.Key + ":" + settings.Count(s => s.Key.StartsWith(option.Key + ":", StringComparison.Ordinal)), value));
            }
            else
            {
                settings.Add(new(option.Key, value));
            }
        }

        return new ServiceCommandLine(settings, configPath, help, version);
    }
}
