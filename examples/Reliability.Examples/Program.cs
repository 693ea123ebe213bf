using Reliability.Examples;
using Reliability.Transport;

// No example blocks inside a socket event handler or an inline receive loop, so socket completions
// may run on .NET's event threads (no hand-off to the thread pool), as in the mdbroker service.
TransportHost.UseInlineSocketCompletions();

// The first argument names the example; the rest are its options.
var examples = ExampleRegistry.All;
if (args.Length == 0 || !examples.TryGetValue(args[0], out var example))
{
    Console.Error.WriteLine("usage: Reliability.Examples <example> [options]");
    Console.Error.WriteLine("examples: " + string.Join(", ", examples.Keys.Order()));
    return 2;
}

using var shutdown = new ShutdownSignal();
try
{
    return await example(new ExampleArguments(args[0], args[1..]), shutdown.Token);
}
catch (ExampleUsageException ex)
{
    Console.Error.WriteLine($"{args[0]}: {ex.Message}");
    return 2;
}
