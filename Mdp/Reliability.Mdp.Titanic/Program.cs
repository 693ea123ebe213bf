using System.Runtime.InteropServices;
using Reliability.Mdp.Titanic.Service;

// titanic: the Titanic service. SIGINT and SIGTERM stop it gracefully: the workers send DISCONNECT, the
// store commits what it has queued (an acknowledged request is on disk already), and the process exits.
using var shutdown = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await TitanicProgram.RunAsync(args, TitanicSettings.ReadEnvironment(), Console.Out, Console.Error, shutdown.Token);

void Stop(PosixSignalContext context)
{
    // Handled here instead of by the runtime's default (immediate exit), so the store can close cleanly.
    context.Cancel = true;
    shutdown.Cancel();
}
