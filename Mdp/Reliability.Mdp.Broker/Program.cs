using System.Runtime.InteropServices;
using Reliability.Mdp.Broker.Service;
using Reliability.Transport;

// mdbroker: the Majordomo broker service. SIGINT and SIGTERM stop it gracefully: every worker gets
// DISCONNECT and the process exits within a second.
// The broker loop never blocks, so socket completions may run on .NET's event threads (no hand-off).
TransportHost.UseInlineSocketCompletions();
using var shutdown = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await BrokerService.RunAsync(args, ServiceSettings.ReadEnvironment(), Console.Out, Console.Error, shutdown.Token);

void Stop(PosixSignalContext context)
{
    // Handled here instead of by the runtime's default (immediate exit), so the broker can say goodbye.
    context.Cancel = true;
    shutdown.Cancel();
}
