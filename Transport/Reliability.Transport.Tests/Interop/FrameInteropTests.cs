using Reliability.Testing.PyZmq;
using static Reliability.Transport.Tests.Interop.InteropHelpers;

namespace Reliability.Transport.Tests.Interop;

/// <summary>Frame shapes across the short/long size boundary, empty frames and 1 MiB frames, both directions.</summary>
public sealed class FrameInteropTests
{
    public static TheoryData<string, string, bool> Cases()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var shape in new[] { "multipart", "single-empty", "one-mebibyte" })
        {
            foreach (var ourType in new[] { "DEALER", "ROUTER" })
            {
                data.Add(shape, ourType, true);
                data.Add(shape, ourType, false);
            }
        }

        return data;
    }

    [PyZmqTheory]
    [MemberData(nameof(Cases))]
    public async Task Echo_FrameShapeThroughLibZmq_ArrivesIntactBothWays(string shape, string ourType, bool oursBinds)
    {
        var frames = Shape(shape);
        var theirType = ourType == "DEALER" ? "ROUTER" : "DEALER";
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide(ourType, new SocketOptions { Linger = TimeSpan.Zero, RouterMandatory = ourType == "ROUTER" });
        var theirs = new TheirSide(await peer.CreateSocketAsync(theirType, new PeerSocketOptions { RouterMandatory = theirType == "ROUTER" }));
        if (oursBinds)
        {
            await theirs.Socket.ConnectAsync(ours.Socket.Bind("tcp://127.0.0.1:0"));
        }
        else
        {
            ours.Socket.Connect(await theirs.Socket.BindAsync());
        }

        // The DEALER (whichever side) speaks first; the ROUTER echoes with the routing id in front.
        ISide dealer = ourType == "DEALER" ? ours : theirs;
        ISide router = ourType == "DEALER" ? theirs : ours;
        var because = $"{shape}: {dealer.Owner} DEALER <-> {router.Owner} ROUTER";

        await dealer.SendAsync(frames);
        var atRouter = await router.ReceiveAsync();
        atRouter.Count.Should().Be(frames.Count + 1, because);
        AssertFrames(atRouter.Skip(1).ToList(), frames, because);

        await router.SendAsync(atRouter);
        AssertFrames(await dealer.ReceiveAsync(), frames, because);
    }

    private static List<byte[]> Shape(string shape) => shape switch
    {
        // 255 is the largest short frame, 256 the smallest long one.
        "multipart" => [[], [0x00], Filled(255, 0xA5), Filled(256, 0x5A), [], Utf8("last")],
        "single-empty" => [[]],
        "one-mebibyte" => [Filled(1 << 20, 0x00, pattern: true), Utf8("tail")],
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, null),
    };

    private static byte[] Filled(int length, byte value, bool pattern = false)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            // A position-dependent pattern catches shifted or reordered chunks in large frames.
            bytes[i] = pattern ? (byte)((i * 31) ^ (i >> 8)) : value;
        }

        return bytes;
    }
}
