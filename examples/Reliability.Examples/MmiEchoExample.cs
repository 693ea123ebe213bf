using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;

namespace Reliability.Examples;

/// <summary>
/// mmiecho: asks the broker's MMI whether a service has workers (RFC 8 <c>mmi.service</c>) and prints the
/// answer, e.g. <c>mmiecho: service 'echo': 200</c>. Options: <c>--endpoint E</c> (broker, default
/// tcp://127.0.0.1:5555), <c>--service NAME</c> (default echo), <c>--mdp 0.1|0.2</c> (default 0.1). Exit code 0
/// when the answer is 200, 1 for any other answer (404: no worker) or when the broker did not answer.
/// </summary>
internal static class MmiEchoExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        string endpoint = arguments.String("endpoint", "tcp://127.0.0.1:5555");
        string service = arguments.String("service", "echo");
        var version = MajordomoExampleOptions.Version(arguments);
        arguments.EnsureAllUsed();

        var options = new MajordomoClientOptions
        {
            BrokerEndpoint = endpoint,
            Version = version,
            SocketType = version == MdpVersion.V01 ? MdpClientSocket.Req : MdpClientSocket.Dealer,
        };
        MajordomoExampleOptions.Validate(options.Validate);
        MajordomoExampleOptions.ValidateService(service);

        await using var client = new MajordomoClient(options);
        try
        {
            string status = await client.QueryServiceAsync(service, cancellationToken);
            Console.WriteLine($"mmiecho: service '{service}': {status}");
            return status == Mmi.Found ? 0 : 1;
        }
        catch (MdpRequestFailedException ex)
        {
            Console.Error.WriteLine($"mmiecho: no answer from the broker: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("mmiecho: interrupted");
            return 1;
        }
    }
}
