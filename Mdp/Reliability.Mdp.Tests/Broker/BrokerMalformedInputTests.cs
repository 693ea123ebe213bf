using System.Text;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>
/// Malformed input sent to a running broker over TCP: every frame missing in turn, wrong headers, unknown
/// commands, 1 MiB garbage frames, single-frame messages. Each must be dropped (and counted when invalid),
/// and a valid request from the same connection must still be served afterwards.
/// </summary>
public sealed class BrokerMalformedInputTests
{
    private const int MiB = 1024 * 1024;

    /// <summary>What the broker should make of a case.</summary>
    private enum Expect
    {
        /// <summary>Invalid: logged, counted, dropped, nothing sent back.</summary>
        Invalid,

        /// <summary>Valid worker command from a stranger: answered with DISCONNECT, not counted as invalid.</summary>
        Disconnect,

        /// <summary>Valid client request (the missing frame left a well-formed message): handled normally.</summary>
        Valid,
    }

    private static readonly Dictionary<string, (object[] Frames, Expect Expect)> Cases = BuildCases();

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task RunAsync_MalformedMessage_DroppedAndValidRequestStillServed(string name)
    {
        var (frames, expect) = Cases[name];
        // Room for the 1 MiB cases plus their other frames: the parser is under test here, not the size limit (BrokerLimitSettingsTests).
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { HeartbeatInterval = TimeSpan.FromSeconds(1), MaxMessageSize = 2 * MiB });
        await using var worker = new RawWorker(broker.Endpoint, "echo");
        using var stop = new CancellationTokenSource();
        var echo = EchoUntilStoppedAsync(worker, stop.Token);
        await using var peer = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        peer.Connect(broker.Endpoint);

        // Same connection, so the broker handles the bad message before the good one.
        await peer.SendAsync(Frames(frames)).AsTask().WaitAsync(LoopbackBroker.Wait);
        await peer.SendAsync(MdpCodec.BuildFromClient(new ClientRequest("echo", "ping"u8.ToArray()), MdpVersion.V01, MdpClientSocket.Dealer)).AsTask().WaitAsync(LoopbackBroker.Wait);
        var (reply, others) = await ReceiveReplyAsync(peer, "ping");

        await stop.CancelAsync();
        await echo.WaitAsync(LoopbackBroker.Wait);
        reply.Should().NotBeNull($"the valid request after case '{name}' is served");
        broker.Metric("messages.invalid").Should().Be(expect == Expect.Invalid ? 1 : 0);
        var disconnects = others.Count(m => MdpCodec.ParseAtWorker(m).Command is WorkerDisconnect);
        disconnects.Should().Be(expect == Expect.Disconnect ? 1 : 0);
        await using var client = new RawClient(broker.Endpoint);
        (await client.RequestAsync(Mmi.ServiceLookup, "echo")).Should().Be("200", "the worker is still registered");
    }

    private static Message Frames(object[] frames)
    {
        var message = new Message(frames.Length);
        foreach (var frame in frames)
        {
            message.Append(frame switch
            {
                string text => Encoding.UTF8.GetBytes(text),
                byte b => new[] { b },
                byte[] bytes => bytes,
                _ => throw new ArgumentException("bad frame literal"),
            });
        }

        return message;
    }

    /// <summary>Waits for the client reply whose body is <paramref name="body"/>; everything else received on the way is returned too.</summary>
    private static async Task<(ClientReply? Reply, List<Message> Others)> ReceiveReplyAsync(DealerSocket peer, string body)
    {
        var others = new List<Message>();
        var deadline = DateTime.UtcNow + LoopbackBroker.Wait;

        // Bounded by the deadline.
        while (DateTime.UtcNow < deadline)
        {
            var message = await peer.TryReceiveAsync(deadline - DateTime.UtcNow);
            if (message is null)
            {
                break;
            }

            if (MdpCodec.ParseAtClient(message, MdpClientSocket.Dealer) is { IsSuccess: true, Command: ClientReply reply }
                && reply.Body.Count == 1 && reply.Body[0].Span.SequenceEqual(Encoding.UTF8.GetBytes(body)))
            {
                return (reply, others);
            }

            others.Add(message);
        }

        return (null, others);
    }

    private static async Task EchoUntilStoppedAsync(RawWorker worker, CancellationToken stop)
    {
        // Bounded by the token; requests with any body (even none) are echoed.
        while (!stop.IsCancellationRequested)
        {
            var command = await worker.ReceiveAsync(TimeSpan.FromMilliseconds(100));
            if (command is WorkerRequest request)
            {
                worker.Send(new WorkerReply(request.ClientAddress, request.Body));
            }
        }
    }

    private static Dictionary<string, (object[] Frames, Expect Expect)> BuildCases()
    {
        var random = new Random(20260101);
        byte[] Garbage(int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }

        var cases = new Dictionary<string, (object[], Expect)>(StringComparer.Ordinal);

        // Every frame missing in turn, for each command shape.
        void Missing(string shape, object[] frames, Func<int, Expect> expect)
        {
            for (int i = 0; i < frames.Length; i++)
            {
                cases[$"{shape} without frame {i}"] = (frames.Where((_, j) => j != i).ToArray(), expect(i));
            }
        }

        // Without the service the body becomes the service name; without the body it is an empty request.
        Missing("MDP/0.1 REQUEST", [string.Empty, "MDPC01", "echo", "body"], i => i >= 2 ? Expect.Valid : Expect.Invalid);
        Missing("MDP/0.2 REQUEST", ["MDPC02", (byte)0x01, "echo", "body"], i => i >= 2 ? Expect.Valid : Expect.Invalid);
        Missing("MDP/0.1 READY", [string.Empty, "MDPW01", (byte)0x01, "echo"], _ => Expect.Invalid);
        Missing("MDP/0.2 READY", ["MDPW02", (byte)0x01, "echo"], _ => Expect.Invalid);
        Missing("MDP/0.1 REPLY", [string.Empty, "MDPW01", (byte)0x03, "client", string.Empty, "body"], i => i == 5 ? Expect.Disconnect : Expect.Invalid);
        Missing("MDP/0.2 FINAL", ["MDPW02", (byte)0x04, "client", string.Empty, "body"], i => i == 4 ? Expect.Disconnect : Expect.Invalid);
        Missing("MDP/0.1 HEARTBEAT", [string.Empty, "MDPW01", (byte)0x04], _ => Expect.Invalid);
        Missing("MDP/0.2 HEARTBEAT", ["MDPW02", (byte)0x05], _ => Expect.Invalid);

        // Wrong headers.
        cases["header MDPC00"] = ([string.Empty, "MDPC00", "echo", "x"], Expect.Invalid);
        cases["header MDPW03"] = ([string.Empty, "MDPW03", (byte)0x01, "echo"], Expect.Invalid);
        cases["header lower case"] = ([string.Empty, "mdpc01", "echo", "x"], Expect.Invalid);
        cases["two delimiters"] = ([string.Empty, string.Empty, "MDPC01", "echo", "x"], Expect.Invalid);
        cases["MDP/0.1 worker header without delimiter"] = (["MDPW01", (byte)0x04], Expect.Invalid);

        // Unknown or misdirected commands.
        cases["MDP/0.1 command 0x00"] = ([string.Empty, "MDPW01", (byte)0x00], Expect.Invalid);
        cases["MDP/0.1 command 0x06"] = ([string.Empty, "MDPW01", (byte)0x06], Expect.Invalid);
        cases["MDP/0.1 REQUEST to the broker"] = ([string.Empty, "MDPW01", (byte)0x02, "c", string.Empty, "b"], Expect.Invalid);
        cases["MDP/0.2 command 0x07"] = (["MDPW02", (byte)0x07], Expect.Invalid);
        cases["MDP/0.2 client PARTIAL to the broker"] = (["MDPC02", (byte)0x02, "echo", "x"], Expect.Invalid);
        cases["MDP/0.2 client command 0x09"] = (["MDPC02", (byte)0x09, "echo"], Expect.Invalid);
        cases["two-byte command"] = ([string.Empty, "MDPW01", new byte[] { 0x01, 0x01 }, "echo"], Expect.Invalid);
        cases["HEARTBEAT with a payload"] = ([string.Empty, "MDPW01", (byte)0x04, "extra"], Expect.Invalid);
        cases["service name with control character"] = ([string.Empty, "MDPC01", "ec\u0001ho", "x"], Expect.Invalid);
        cases["service name not UTF-8"] = ([string.Empty, "MDPC01", new byte[] { 0xFF, 0xFE }, "x"], Expect.Invalid);

        // 1 MiB garbage.
        cases["1 MiB garbage frame"] = ([Garbage(MiB)], Expect.Invalid);
        cases["1 MiB frame after the delimiter"] = ([string.Empty, Garbage(MiB)], Expect.Invalid);
        cases["1 MiB service name"] = ([string.Empty, "MDPC01", Garbage(MiB), "x"], Expect.Invalid);
        cases["1 MiB READY service name"] = ([string.Empty, "MDPW01", (byte)0x01, Garbage(MiB)], Expect.Invalid);
        cases["1 MiB command frame"] = ([string.Empty, "MDPW01", Garbage(MiB)], Expect.Invalid);
        cases["1 MiB client address"] = (["MDPW02", (byte)0x04, Garbage(MiB), string.Empty, "x"], Expect.Invalid);

        // Single-frame messages.
        cases["single frame text"] = (["x"], Expect.Invalid);
        cases["single empty frame"] = ([string.Empty], Expect.Invalid);
        cases["single byte 0x01"] = ([(byte)0x01], Expect.Invalid);
        cases["single header MDPC01"] = (["MDPC01"], Expect.Invalid);
        cases["single header MDPW02"] = (["MDPW02"], Expect.Invalid);
        return cases;
    }
}
