using System.Net.Sockets;
using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>The accepting side's limits (<see cref="SocketOptions.MaxConnections"/>, <see cref="SocketOptions.MaxPendingHandshakes"/>) and its bound endpoints.</summary>
public abstract partial class ZmqSocket
{
    /// <summary>How long the accept loop rests after the process ran out of descriptors.</summary>
    private static readonly TimeSpan AcceptBackoff = TimeSpan.FromMilliseconds(20);

    /// <summary>Closes a connection over a limit at once: counted every time, logged once a minute per peer host.</summary>
    private void RefuseAccepted(Socket accepted, string endpoint, string remote, string reason)
    {
        TransportMetrics.ConnectionsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        string why = reason == Listener.OverConnections
            ? $"{Options.MaxConnections} connections open (MaxConnections)"
            : $"{Options.MaxPendingHandshakes} connections in their handshake (MaxPendingHandshakes)";
        if (HandshakeWarnings.ShouldWarn("refused:" + WarningKey(remote, accepted: true)))
        {
            Log.ConnectionRefused(Logger, Type, endpoint, remote, why);
        }
        else
        {
            Log.ConnectionRefusedRepeated(Logger, Type, endpoint, remote, why);
        }

        // Closed last, so that whoever sees the close also sees it counted.
        accepted.Dispose();
    }

    private sealed class Listener(string endpoint, Socket socket, string? ipcPath)
    {
        /// <summary>Metric reasons of a refused connection.</summary>
        public const string OverConnections = "max_connections";
        public const string OverHandshakes = "max_pending_handshakes";

        private int _closed;
        private int _open;
        private int _handshaking;

        /// <summary>
        /// Counts a new connection in, or returns why it is over <see cref="SocketOptions.MaxConnections"/> or
        /// <see cref="SocketOptions.MaxPendingHandshakes"/>. Only the accept loop admits, so check-then-add is exact.
        /// </summary>
        public string? TryAdmit(SocketOptions options)
        {
            if (options.MaxConnections > 0 && Volatile.Read(ref _open) >= options.MaxConnections)
            {
                return OverConnections;
            }

            if (options.MaxPendingHandshakes > 0 && Volatile.Read(ref _handshaking) >= options.MaxPendingHandshakes)
            {
                return OverHandshakes;
            }

            Interlocked.Increment(ref _open);
            Interlocked.Increment(ref _handshaking);
            return null;
        }

        public void HandshakeEnded() => Interlocked.Decrement(ref _handshaking);

        public void ConnectionEnded() => Interlocked.Decrement(ref _open);

        public string Endpoint { get; } = endpoint;

        public Socket Socket { get; } = socket;

        public bool IsClosed => Volatile.Read(ref _closed) != 0;

        /// <summary>Closes the endpoint; returns why the ipc socket file could not be removed, if it could not.</summary>
        public Exception? Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                Socket.Dispose();
                if (ipcPath is not null)
                {
                    // libzmq removes the socket file when the endpoint closes, and reports CLOSE_FAILED when it cannot.
                    try
                    {
                        File.Delete(ipcPath);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        return ex;
                    }
                }
            }

            return null;
        }
    }
}
