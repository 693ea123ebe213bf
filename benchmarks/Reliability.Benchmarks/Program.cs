using System.Globalization;
using Reliability.Benchmarks;
using Reliability.Transport;

// The .NET side of the libzmq perf-tool comparison: same sub-commands, arguments and output lines
// as benchmarks/comparator/zmqperf.c, so benchmarks/compare.sh can pair either program with the other.
// The broker sub-commands (broker, broker-serve, broker-worker) are the Majordomo workload of broker.sh.
// The broker roles run with the process setting of the mdbroker service and the examples (inline
// socket completions; BENCH_HOST_SETTINGS=0 measures .NET's default hand-off instead). thr/lat keep
// .NET's defaults, as in every earlier comparison with libzmq.
if (args.Length > 0 && BrokerArguments.IsBrokerCommand(args[0]) && Environment.GetEnvironmentVariable("BENCH_HOST_SETTINGS") != "0")
{
    TransportHost.UseInlineSocketCompletions();
}

if (args.Length > 0 && BrokerArguments.IsBrokerCommand(args[0]))
{
    if (!BrokerArguments.TryParse(args, out var brokerArguments, out var problem))
    {
        if (problem is not null)
        {
            Console.Error.WriteLine("Reliability.Benchmarks: " + problem);
        }

        Console.Error.WriteLine(BrokerArguments.Usage);
        return 2;
    }

    return await RunAsync(() => BrokerWorkload.RunAsync(brokerArguments));
}

if (args.Length > 0 && args[0] == TitanicWorkload.Command)
{
    return await RunAsync(() => TitanicWorkload.RunAsync(args));
}

if (!Arguments.TryParse(args, out var arguments))
{
    Console.Error.WriteLine(Arguments.Usage);
    return 2;
}

return await RunAsync(() => Workloads.RunAsync(arguments));

static async Task<int> RunAsync(Func<Task<string?>> workload)
{
    try
    {
        var line = await workload();
        if (line is not null)
        {
            Console.WriteLine(line);
        }

        return 0;
    }
    catch (BenchmarkFailedException ex)
    {
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Reliability.Benchmarks: {ex.Message}"));
        return 1;
    }
    catch (ReliabilityException ex)
    {
        // A bad endpoint or a protocol failure: the message says it all, the stack trace adds nothing.
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Reliability.Benchmarks: {ex.GetType().Name}: {ex.Message}"));
        return 1;
    }
    catch (Exception ex) when (ex is not OutOfMemoryException)
    {
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Reliability.Benchmarks: {ex}"));
        return 1;
    }
}
