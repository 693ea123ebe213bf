using Microsoft.Extensions.Logging;
using Reliability.Patterns.BinaryStar;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// bstarsrv: one node of a Binary Star pair of echo servers for REQ clients (zguide <c>bstarsrv</c>).
/// Options: <c>--role primary|backup</c> (required), <c>--frontend E</c>, <c>--local E</c> (where this
/// node publishes its state), <c>--remote E</c> (the peer's state endpoint), <c>--heartbeat MS</c>
/// (default 1000). The endpoints default to the zguide's ports: the primary serves on 5001 and
/// publishes on 5003, the backup serves on 5002 and publishes on 5004. Exit code 0 on Ctrl-C or
/// SIGTERM, 1 when an endpoint cannot be bound, 3 on split brain.
/// </summary>
internal static partial class BinaryStarServerExample
{
    /// <summary>The exit code of a node that stopped on split brain, distinct from bind failures (1) and usage errors (2).</summary>
    public const int SplitBrainExitCode = 3;

    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var role = arguments.String("role", string.Empty) switch
        {
            "primary" => BinaryStarRole.Primary,
            "backup" => BinaryStarRole.Backup,
            var other => throw new ExampleUsageException($"--role must be primary or backup (was '{other}')"),
        };
        bool primary = role == BinaryStarRole.Primary;
        string frontend = arguments.String("frontend", primary ? "tcp://127.0.0.1:5001" : "tcp://127.0.0.1:5002");
        var options = new BinaryStarOptions
        {
            Role = role,
            LocalEndpoint = arguments.String("local", primary ? "tcp://127.0.0.1:5003" : "tcp://127.0.0.1:5004"),
            RemoteEndpoint = arguments.String("remote", primary ? "tcp://127.0.0.1:5004" : "tcp://127.0.0.1:5003"),
            Heartbeat = TimeSpan.FromMilliseconds(arguments.Int("heartbeat", 1000, 10, 60_000)),
        };
        arguments.EnsureAllUsed();

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("bstarsrv");
        BinaryStarServer server;
        try
        {
            server = new BinaryStarServer(options, frontend, static (request, _) => ValueTask.FromResult(request), loggerFactory);
        }
        catch (ArgumentException ex)
        {
            throw new ExampleUsageException(ex.Message);
        }

        await using (server)
        {
            try
            {
                server.Bind();
            }
            catch (EndpointException ex)
            {
                BindFailed(logger, ex.Message);
                return 1;
            }

            Started(logger, options.Role, server.FrontendEndpoint!, server.Node.BoundEndpoint!, options.RemoteEndpoint);
            try
            {
                await server.RunAsync(cancellationToken);
            }
            catch (SplitBrainException ex)
            {
                SplitBrain(logger, ex.Message);
                return SplitBrainExitCode;
            }

            Stopping(logger, server.Served, server.Node.State);
        }

        return 0;
    }

    [LoggerMessage(EventId = 2260, Level = LogLevel.Information, Message = "bstarsrv {Role}: echoing on {Frontend}, state published on {Local}, peer at {Remote}")]
    private static partial void Started(ILogger logger, BinaryStarRole role, string frontend, string local, string remote);

    [LoggerMessage(EventId = 2261, Level = LogLevel.Information, Message = "bstarsrv: stopping after {Served} replies, state {State}")]
    private static partial void Stopping(ILogger logger, long served, BinaryStarState state);

    [LoggerMessage(EventId = 2262, Level = LogLevel.Error, Message = "bstarsrv: cannot bind: {Reason}")]
    private static partial void BindFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2263, Level = LogLevel.Critical, Message = "bstarsrv: {Reason}")]
    private static partial void SplitBrain(ILogger logger, string reason);
}
