using System.Runtime.InteropServices;
using Reliability.Chaos.Cli;

// Ctrl-C and SIGTERM cancel the run; the supervisors then reap every child before the process exits.
using var stop = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
try
{
    return await ChaosCommandLine.RunAsync(args, Console.Out, stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine("chaos: interrupted");
    return 130;
}

void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
