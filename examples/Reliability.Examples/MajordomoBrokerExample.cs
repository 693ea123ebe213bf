using Reliability.Mdp.Broker;

namespace Reliability.Examples;

/// <summary>
/// mdbroker: the Majordomo broker, the same <see cref="MajordomoBroker"/> the <c>mdbroker</c> service runs.
/// Options: <c>--bind E</c> (default tcp://*:5555), <c>--heartbeat MS</c> (default 2500), <c>--liveness N</c>
/// (default 3), and the service's security options (<c>--curve-secret-key Z85 | --curve-secret-file PATH</c>,
/// <c>--curve-allow-key Z85</c> (repeatable) <c>| --curve-allow-dir DIR</c>, <c>--plain-user USER:PASS</c>,
/// <c>--client-auth</c>/<c>--worker-auth none|plain|curve</c>, <c>--authorized-worker ID</c>; docs/security.md). They go through the service's settings schema (<see cref="BrokerSettings"/>), so names,
/// units, defaults and validation are the same. Ctrl-C or SIGTERM sends DISCONNECT to every worker and exits.
/// Exit codes: 0 after Ctrl-C, 1 when the endpoint cannot be bound, 2 for bad options.
/// </summary>
internal static class MajordomoBrokerExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        // Empty means "not given": BrokerSettings then keeps the broker's default.
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [BrokerSettings.Bind] = arguments.String("bind", string.Empty),
            [BrokerSettings.HeartbeatMs] = arguments.String("heartbeat", string.Empty),
            [BrokerSettings.Liveness] = arguments.String("liveness", string.Empty),
            [BrokerSettings.CurveSecretKey] = arguments.String("curve-secret-key", string.Empty),
            [BrokerSettings.CurveSecretFile] = arguments.String("curve-secret-file", string.Empty),
            [BrokerSettings.CurveAllowKeys] = string.Join(',', arguments.Strings("curve-allow-key")),
            [BrokerSettings.CurveAllowDir] = arguments.String("curve-allow-dir", string.Empty),
            [BrokerSettings.PlainUsers] = string.Join(',', arguments.Strings("plain-user")),
            [BrokerSettings.ClientAuth] = arguments.String("client-auth", string.Empty),
            [BrokerSettings.WorkerAuth] = arguments.String("worker-auth", string.Empty),
            [BrokerSettings.AuthorizedWorkers] = string.Join(',', arguments.Strings("authorized-worker")),
        };
        arguments.EnsureAllUsed();
        if (!BrokerSettings.TryCreateOptions(settings, null, out var options, out var problems))
        {
            throw new ExampleUsageException(string.Join("; ", problems));
        }

        using var loggerFactory = arguments.CreateLoggerFactory();
        await using var broker = new MajordomoBroker(options, loggerFactory);
        return await ServeExample.BindThenRunAsync(
            () => broker.Bind(),
            () => broker.RunAsync(cancellationToken),
            ex => Console.Error.WriteLine($"mdbroker: cannot listen on {ex.Endpoint}: {ex.Message}"));
    }
}
