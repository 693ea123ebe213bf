using System.Net;
using System.Net.Sockets;

namespace Reliability.Chaos.Network;

/// <summary>Free TCP ports on 127.0.0.1, for peers that must bind the same port again after a restart.</summary>
public static class FreePorts
{
    /// <summary>
    /// Picks <paramref name="count"/> distinct ports the kernel reports free (by binding port 0),
    /// then releases them for the caller's programs to bind. Another process could take one in
    /// between; callers that bind them retry with new ports when binding fails.
    /// </summary>
    /// <param name="count">How many ports (1..64).</param>
    /// <returns>The ports.</returns>
    public static IReadOnlyList<int> Pick(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 64);

        // All sockets stay bound until every port is picked, so the kernel cannot hand out one twice.
        var sockets = new List<Socket>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            return [.. sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port)];
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>One free port; see <see cref="Pick"/>.</summary>
    /// <returns>The port.</returns>
    public static int PickOne() => Pick(1)[0];

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    /// <param name="port">The port.</param>
    /// <param name="timeout">Upper bound on the connect attempt.</param>
    /// <param name="cancellationToken">Ends the attempt early.</param>
    /// <returns>Whether a listener answered.</returns>
    public static async Task<bool> IsListeningAsync(int port, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), bounded.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}
