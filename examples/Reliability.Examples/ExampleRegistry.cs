namespace Reliability.Examples;

/// <summary>Every runnable example, by the name given as the first argument.</summary>
internal static class ExampleRegistry
{
    public static IReadOnlyDictionary<string, Example> All { get; } = new Dictionary<string, Example>(StringComparer.Ordinal)
    {
        ["transport-demo"] = TransportDemo.RunAsync,
        ["bstarcli"] = BinaryStarClientExample.RunAsync,
        ["bstarsrv"] = BinaryStarServerExample.RunAsync,
        ["curve-keygen"] = CurveKeygenExample.RunAsync,
        ["flclient"] = FreelanceClientExample.RunAsync,
        ["flserver"] = FreelanceServerExample.RunAsync,
        ["lpclient"] = LazyPirateClientExample.RunAsync,
        ["lpserver"] = LazyPirateServerExample.RunAsync,
        ["mdbroker"] = MajordomoBrokerExample.RunAsync,
        ["mdworker"] = MajordomoWorkerExample.RunAsync,
        ["mdclient"] = MajordomoClientExample.RunAsync,
        ["mdclient-async"] = MajordomoAsyncClientExample.RunAsync,
        ["mmiecho"] = MmiEchoExample.RunAsync,
        ["ticlient"] = TitanicClientExample.RunAsync,
        ["spqueue"] = SimplePirateQueueExample.RunAsync,
        ["spworker"] = SimplePirateWorkerExample.RunAsync,
        ["ppqueue"] = ParanoidPirateQueueExample.RunAsync,
        ["ppworker"] = ParanoidPirateWorkerExample.RunAsync,
    };
}
