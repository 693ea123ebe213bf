using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>
/// The measured run of <c>--mode upfront</c>: every client, a bare DEALER, sends all of its share of the
/// requests before it reads any reply, as the zguide's mdclient2 is written. The broker has to hold (or push
/// back on) everything the workers have not answered yet, so this is the run that shows flow control and the
/// broker's memory under it. Replies are matched by the request number the echo carries back; a request's
/// latency runs from its send to the moment its reply is read, so it includes the whole queue ahead of it.
/// </summary>
internal static class UpfrontLoad
{
    /// <summary>Runs <see cref="BrokerArguments.Requests"/> requests split over the clients; fills each request's round trip in <paramref name="samples"/>.</summary>
    public static async Task RunAsync(BrokerArguments a, string endpoint, long[] samples)
    {
        var runs = new List<Task>(a.Clients);
        int share = a.Requests / a.Clients;
        int first = 0;
        for (int c = 0; c < a.Clients; c++)
        {
            int count = share + (c < a.Requests % a.Clients ? 1 : 0);
            int from = first;
            runs.Add(Task.Run(() => RunClientAsync(a, endpoint, from, count, samples)));
            first += count;
        }

        await Task.WhenAll(runs);
    }

    /// <summary>
    /// The flooding client of <c>--flood F</c>: F requests up front on a connection of its own while the measured
    /// clients run. Completes with the stderr line <c>flood: F requests up front, all answered in T s</c>; a lost
    /// or wrong reply fails the run, as in the measured clients.
    /// </summary>
    public static async Task<string> FloodAsync(BrokerArguments a, string endpoint)
    {
        var flooder = a with { Requests = a.Flood, Clients = 1, Size = Math.Max(a.Size, sizeof(int)) };
        long started = Stopwatch.GetTimestamp();
        await Task.Run(() => RunClientAsync(flooder, endpoint, 0, a.Flood, new long[a.Flood]));
        return string.Create(CultureInfo.InvariantCulture, $"flood: {a.Flood} requests up front, all answered in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s");
    }

    private static async Task RunClientAsync(BrokerArguments a, string endpoint, int first, int count, long[] samples)
    {
        await using var socket = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        socket.Connect(endpoint);
        var sentAt = new long[count];

        // Bounded by count; a send waits only while the broker pushes back, and fails the run after the timeout.
        for (int i = 0; i < count; i++)
        {
            var payload = new byte[a.Size];
            BinaryPrimitives.TryWriteInt32LittleEndian(payload, first + i);
            sentAt[i] = Stopwatch.GetTimestamp();
            var message = MdpCodec.BuildFromClient(new ClientRequest(BrokerArguments.Service, (ReadOnlyMemory<byte>)payload), a.Version, MdpClientSocket.Dealer);
            if (!await socket.TrySendAsync(message, a.Timeout))
            {
                throw new BenchmarkFailedException(string.Create(CultureInfo.InvariantCulture, $"request {first + i} could not be sent within {a.Timeout.TotalMilliseconds} ms"));
            }
        }

        var answered = new bool[count];

        // Bounded by count; each receive by the timeout.
        for (int received = 0; received < count; received++)
        {
            var reply = await socket.TryReceiveAsync(a.Timeout)
                ?? throw new BenchmarkFailedException(string.Create(CultureInfo.InvariantCulture, $"no reply within {a.Timeout.TotalMilliseconds} ms after {received} of {count} replies"));
            long now = Stopwatch.GetTimestamp();
            var parsed = MdpCodec.ParseAtClient(reply, MdpClientSocket.Dealer);
            var body = parsed.IsSuccess && parsed.Command is ClientReply or ClientFinal ? parsed.Command.Body : null;
            if (body is null || body.Count != 1 || body[0].Length != a.Size)
            {
                throw new BenchmarkFailedException(string.Create(CultureInfo.InvariantCulture, $"reply {received} is not the echo of a request ({reply.Count} frames, {reply.TotalLength} bytes)"));
            }

            int index = BinaryPrimitives.ReadInt32LittleEndian(body[0].Span) - first;
            if (index < 0 || index >= count || answered[index])
            {
                throw new BenchmarkFailedException(string.Create(CultureInfo.InvariantCulture, $"reply {received} names request {index + first}, which is not outstanding"));
            }

            answered[index] = true;
            samples[first + index] = now - sentAt[index];
        }
    }
}
