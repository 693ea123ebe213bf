namespace Reliability.Transport;

public abstract partial class ZmqSocket
{
    /// <summary>Set once <see cref="SocketEventKind.MonitorStopped"/> was raised; <c>Raise</c> stays silent afterwards.</summary>
    private volatile bool _monitorStopped;

    /// <summary>Raises <see cref="SocketEventKind.MonitorStopped"/>, the socket's last event (end of disposal).</summary>
    private void StopMonitor()
    {
        Raise(new SocketEvent(SocketEventKind.MonitorStopped, string.Empty));

        // A loop that outlived the disposal cap (a bug) must not report after the final event.
        _monitorStopped = true;
    }
}
