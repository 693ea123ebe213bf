namespace Reliability.Transport;

public abstract partial class ZmqSocket
{
    /// <summary>Set (once) when <see cref="SocketEventKind.MonitorStopped"/> is raised; <c>Raise</c> stays silent afterwards.</summary>
    private int _monitorStopped;

    /// <summary>Raises <see cref="SocketEventKind.MonitorStopped"/>, the socket's last event (end of disposal).</summary>
    private void StopMonitor()
    {
        // Claimed before the handler runs: a loop that outlived the disposal cap (a bug) must not
        // report after the final event, and the final event is raised once.
        if (Interlocked.Exchange(ref _monitorStopped, 1) != 0)
        {
            return;
        }

        InvokeHandler(new SocketEvent(SocketEventKind.MonitorStopped, string.Empty));
    }
}
