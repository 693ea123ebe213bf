using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Reliability.Transport.Zmtp;
using ZmtpGreeting = Reliability.Transport.Zmtp.Greeting;

namespace Reliability.Mdp.Tests.Adversarial;

/// <summary>
/// One attacker's TCP connection to the broker: bytes exactly as written, a hand-made ZMTP handshake,
/// and a way to see whether (and how soon) the broker closed it. Nothing is read unless asked, which is
/// how a client that never reads is played.
/// </summary>
internal sealed class RawConnection : IDisposable
{
    private readonly TcpClient _client;

    private RawConnection(TcpClient client)
    {
        _client = client;
        Stream = client.GetStream();
    }

    /// <summary>Taken once: after a failed write the client no longer hands it out.</summary>
    public NetworkStream Stream { get; }

    public static async Task<RawConnection> OpenAsync(string endpoint)
    {
        var uri = new Uri(endpoint);
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(uri.Host, uri.Port).WaitAsync(TimeSpan.FromSeconds(10));
        return new RawConnection(client);
    }

    /// <summary>A NULL-mechanism ZMTP 3.1 greeting.</summary>
    public static byte[] Greeting()
    {
        var greeting = new byte[ZmtpGreeting.Length];
        ZmtpGreeting.Write(greeting);
        return greeting;
    }

    /// <summary>READY of a DEALER, with a routing id when <paramref name="identity"/> is given.</summary>
    public static byte[] Ready(string? identity = null) =>
        Commands.BuildReadyFrame("DEALER", identity is null ? [] : Encoding.ASCII.GetBytes(identity), includeIdentity: true);

    /// <summary>A header announcing a data frame of <paramref name="size"/> octets (long form), with no body.</summary>
    public static byte[] LongHeader(long size, bool command = false)
    {
        var header = new byte[9];
        header[0] = (byte)(command ? 0x06 : 0x02);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(1), size);
        return header;
    }

    /// <summary>The frames of one message, MORE set on all but the last.</summary>
    public static byte[] Frames(params byte[][] frames)
    {
        var stream = new MemoryStream();
        var header = new byte[FrameHeader.MaxLength];
        for (int i = 0; i < frames.Length; i++)
        {
            int length = FrameHeader.Write(header, frames[i].Length, more: i < frames.Length - 1, command: false);
            stream.Write(header, 0, length);
            stream.Write(frames[i]);
        }

        return stream.ToArray();
    }

    /// <summary>An MDP/0.1 client request as a DEALER sends it: empty delimiter, MDPC01, service, body.</summary>
    public static byte[] Request(string service, byte[] body) =>
        Frames([], "MDPC01"u8.ToArray(), Encoding.UTF8.GetBytes(service), body);

    public async Task SendAsync(byte[] bytes, CancellationToken cancellationToken = default) =>
        await Stream.WriteAsync(bytes, cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

    /// <summary>Greets as a DEALER and reads the broker's greeting and READY.</summary>
    public async Task HandshakeAsync(string? identity = null)
    {
        await SendAsync([.. Greeting(), .. Ready(identity)]);
        await ReadExactlyAsync(ZmtpGreeting.Length);
        var header = await ReadExactlyAsync(2);
        await ReadExactlyAsync(header[1]);
    }

    public async Task<byte[]> ReadExactlyAsync(int count)
    {
        var buffer = new byte[count];
        await Stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return buffer;
    }

    /// <summary>
    /// How long the broker took to close the connection (reading and discarding what it sends), or null
    /// when it was still open after <paramref name="limit"/>.
    /// </summary>
    public async Task<TimeSpan?> ClosedWithinAsync(TimeSpan limit)
    {
        long start = Stopwatch.GetTimestamp();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            // Bounded by the timeout.
            while (await Stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (IOException)
        {
            // Reset by the broker: closed too.
        }

        return Stopwatch.GetElapsedTime(start);
    }

    public void Dispose() => _client.Dispose();
}
