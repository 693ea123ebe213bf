using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Reliability.Transport.Tests;

/// <summary>A hand-driven TCP peer for bad-input and wire tests: sends exactly the bytes a test gives it.</summary>
internal sealed class RawPeer : IDisposable
{
    private readonly TcpClient _client = new();

    private RawPeer()
    {
    }

    public NetworkStream Stream => _client.GetStream();

    public static async Task<RawPeer> ConnectAsync(string endpoint)
    {
        var uri = new Uri(endpoint);
        var peer = new RawPeer();
        await peer._client.ConnectAsync(IPAddress.Parse(uri.Host), uri.Port).WaitAsync(TestTimeouts.Long);
        return peer;
    }

    /// <summary>Our greeting as a peer would send it: 3.1, NULL.</summary>
    public static byte[] Greeting(string mechanism = "NULL", byte major = 3, byte minor = 1)
    {
        var greeting = new byte[64];
        greeting[0] = 0xFF;
        greeting[9] = 0x7F;
        greeting[10] = major;
        greeting[11] = minor;
        Encoding.ASCII.GetBytes(mechanism).CopyTo(greeting, 12);
        return greeting;
    }

    /// <summary>READY with the given Socket-Type (and optional identity).</summary>
    public static byte[] Ready(string socketType, string? identity = null)
    {
        var body = new List<byte> { 5 };
        body.AddRange("READY"u8.ToArray());
        AddProperty(body, "Socket-Type", Encoding.ASCII.GetBytes(socketType));
        if (identity is not null)
        {
            AddProperty(body, "Identity", Encoding.ASCII.GetBytes(identity));
        }

        return [0x04, (byte)body.Count, .. body];
    }

    private static void AddProperty(List<byte> body, string name, byte[] value)
    {
        body.Add((byte)name.Length);
        body.AddRange(Encoding.ASCII.GetBytes(name));
        body.AddRange([(byte)(value.Length >> 24), (byte)(value.Length >> 16), (byte)(value.Length >> 8), (byte)value.Length]);
        body.AddRange(value);
    }

    public async Task SendAsync(params byte[][] chunks)
    {
        foreach (var chunk in chunks)
        {
            await Stream.WriteAsync(chunk).AsTask().WaitAsync(TestTimeouts.Long);
        }

        await Stream.FlushAsync();
    }

    /// <summary>Reads exactly <paramref name="count"/> octets.</summary>
    public async Task<byte[]> ReadAsync(int count)
    {
        var buffer = new byte[count];
        await Stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TestTimeouts.Long);
        return buffer;
    }

    /// <summary>Completes when the other side closes the connection (read returns 0 or the socket resets).</summary>
    public async Task WaitForCloseAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (await Stream.ReadAsync(buffer).AsTask().WaitAsync(TestTimeouts.Long) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Reset by peer also counts as closed.
        }
    }

    /// <summary>Does the greeting and READY exchange as a well-behaved peer of type <paramref name="socketType"/>.</summary>
    public async Task HandshakeAsync(string socketType, string? identity = null)
    {
        await SendAsync(Greeting(), Ready(socketType, identity));
        var greeting = await ReadAsync(64);
        greeting[0].Should().Be(0xFF);
        var header = await ReadAsync(2);
        header[0].Should().Be(0x04);
        await ReadAsync(header[1]);
    }

    public void Dispose() => _client.Dispose();
}
