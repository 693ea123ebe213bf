using Microsoft.Extensions.Logging;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// mdclient: sends numbered requests one at a time through a <see cref="MajordomoClient"/> and checks every
/// echo. Options: <c>--endpoint E</c> (broker, default tcp://127.0.0.1:5555; repeated for a Binary Star pair of
/// brokers, which the client fails over between), <c>--settle MS</c> (with several brokers, the pause before
/// resending to the next one, default 2000), <c>--service NAME</c> (default
/// echo), <c>--requests N</c> (default 10), <c>--timeout MS</c> (per attempt, default 2500), <c>--retries R</c>
/// (tries per request, the first included, as the zguide's REQUEST_RETRIES and lpclient; default 3),
/// <c>--mdp 0.1|0.2</c> (default 0.1 over REQ; 0.2 over DEALER), <c>--curve-server-key Z85</c> (the broker's public
/// key: connect with CURVE) and <c>--curve-secret-key Z85</c> (the client's own key; ephemeral without it). An abandoned request counts as failed and the
/// client goes on. Ends with the single line <c>mdclient: N ok, F failed, R retries, X req/s</c>; exit code 0
/// only if every request was answered with its own body.
/// </summary>
internal static partial class MajordomoClientExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var (_, requests, timeoutMs, tries) = SequentialClientOptions.Read(arguments, MajordomoClientOptions.MaxRetries + 1);
        var brokers = MajordomoExampleOptions.Brokers(arguments);
        string endpoint = string.Join(",", brokers);
        int settleMs = arguments.Int("settle", 2000, 0, 3_600_000);
        string service = arguments.String("service", "echo");
        var version = MajordomoExampleOptions.Version(arguments);
        var socket = CurveExampleOptions.Client(arguments, new MajordomoClientOptions().Socket);
        arguments.EnsureAllUsed();
        string versionName = version.Number();

        var options = new MajordomoClientOptions
        {
            BrokerEndpoint = brokers.Count == 1 ? brokers[0] : string.Empty,
            BrokerEndpoints = brokers.Count == 1 ? [] : brokers,
            Version = version,
            SocketType = version == MdpVersion.V01 ? MdpClientSocket.Req : MdpClientSocket.Dealer,
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            Retries = tries - 1,
            SettleDelay = TimeSpan.FromMilliseconds(settleMs),
            Socket = socket,
        };
        MajordomoExampleOptions.Validate(options.Validate);
        MajordomoExampleOptions.ValidateService(service);

        var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("mdclient");
        var client = new MajordomoClient(options, loggerFactory);
        Starting(logger, requests, service, endpoint, versionName, timeoutMs, tries);

        var tally = await SequentialEchoRun.RunAsync<MdpRequestFailedException>(
            requests,
            async (body, token) =>
            {
                var reply = await client.RequestAsync(service, Message.FromStrings(body), token);
                if (MajordomoExampleOptions.IsEcho(reply, body))
                {
                    return true;
                }

                WrongReply(logger, reply, body);
                return false;
            },
            (body, ex) => RequestFailed(logger, body, ex.Message),
            () => Interrupted(logger),
            cancellationToken);
        return await tally.FinishAsync("mdclient", requests, client.Statistics.Retries, client, loggerFactory);
    }

    [LoggerMessage(EventId = 3380, Level = LogLevel.Information, Message = "mdclient: {Requests} requests to '{Service}' at {Endpoint} (MDP/{Version}), timeout {Timeout} ms, {Tries} tries each")]
    private static partial void Starting(ILogger logger, int requests, string service, string endpoint, string version, int timeout, int tries);

    [LoggerMessage(EventId = 3381, Level = LogLevel.Error, Message = "wrong reply {Reply} to request {Body}")]
    private static partial void WrongReply(ILogger logger, MdpReply reply, string body);

    [LoggerMessage(EventId = 3382, Level = LogLevel.Error, Message = "request {Body} failed: {Reason}")]
    private static partial void RequestFailed(ILogger logger, string body, string reason);

    [LoggerMessage(EventId = 3383, Level = LogLevel.Information, Message = "mdclient: interrupted")]
    private static partial void Interrupted(ILogger logger);
}

/// <summary>Option parsing and checks shared by the Majordomo examples.</summary>
internal static class MajordomoExampleOptions
{
    /// <summary><c>--mdp 0.1|0.2</c>, default 0.1.</summary>
    public static MdpVersion Version(ExampleArguments arguments)
    {
        string text = arguments.String("mdp", "0.1");
        return MdpVersions.TryParse(text, out var version)
            ? version
            : throw new ExampleUsageException($"--mdp must be 0.1 or 0.2 (was '{text}')");
    }

    /// <summary><c>--endpoint E</c>, repeated for several brokers (a Binary Star pair); default tcp://127.0.0.1:5555.</summary>
    public static IReadOnlyList<string> Brokers(ExampleArguments arguments) =>
        arguments.Strings("endpoint") is { Count: > 0 } brokers ? brokers : ["tcp://127.0.0.1:5555"];

    /// <summary>Runs an options record's validation and reports its problems as a usage error (exit code 2).</summary>
    public static void Validate(Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException ex)
        {
            throw new ExampleUsageException(ex.Message);
        }
    }

    public static void ValidateService(string service)
    {
        try
        {
            MdpVersions.ValidateServiceName(service);
        }
        catch (ArgumentException ex)
        {
            throw new ExampleUsageException("--service: " + ex.Message);
        }
    }

    public static bool IsEcho(MdpReply reply, string body) => reply.Body.Count == 1 && reply.Body.GetString(0) == body;
}
