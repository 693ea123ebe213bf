using System.Buffers.Binary;
using Reliability.Testing.PyZmq;

namespace Reliability.Transport.Tests.Interop;

/// <summary>Thousands of pipelined messages each way: flow control and ordering through both implementations.</summary>
public sealed class VolumeInteropTests
{
    private const int Count = 10_000;
    private const int Size = 1024;

    [PyZmqTheory]
    [InlineData("PUSH", true)]
    [InlineData("PUSH", false)]
    [InlineData("DEALER", true)]
    [InlineData("DEALER", false)]
    public async Task Send_TenThousandMessagesToLibZmq_AllArriveInOrder(string ourType, bool oursBinds)
    {
        var theirType = ourType == "PUSH" ? "PULL" : "ROUTER";
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide(ourType);
        var theirs = await peer.CreateSocketAsync(theirType);
        await Connect(ours, theirs, oursBinds);

        var receiving = theirs.ReceiveManyAsync(Count, skip: theirType == "ROUTER" ? 1 : 0);
        for (var seq = 0; seq < Count; seq++)
        {
            await ours.SendAsync([Body(seq)]);
        }

        var result = await receiving.WaitAsync(TimeSpan.FromSeconds(30));

        result.Received.Should().Be(Count);
        result.InOrder.Should().BeTrue($"first bad message: {string.Join(' ', result.FirstBad ?? [])}");
        if (theirType == "ROUTER")
        {
            result.Prefixes.Should().ContainSingle("one connection, one routing id");
        }
    }

    [PyZmqTheory]
    [InlineData("PULL", true)]
    [InlineData("PULL", false)]
    [InlineData("ROUTER", true)]
    [InlineData("ROUTER", false)]
    public async Task Receive_TenThousandMessagesFromLibZmq_AllArriveInOrder(string ourType, bool oursBinds)
    {
        var theirType = ourType == "PULL" ? "PUSH" : "DEALER";
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide(ourType);
        var theirs = await peer.CreateSocketAsync(theirType);
        await Connect(ours, theirs, oursBinds);

        var sending = theirs.SendManyAsync(Count, Size);
        byte[]? routingId = null;
        for (var seq = 0; seq < Count; seq++)
        {
            var message = await ours.ReceiveAsync();
            if (ourType == "ROUTER")
            {
                message.Should().HaveCount(2);
                routingId ??= message[0];
                message[0].Should().Equal(routingId);
            }
            else
            {
                message.Should().ContainSingle();
            }

            var body = message[^1];
            if (body.Length != Size || BinaryPrimitives.ReadInt32BigEndian(body) != seq)
            {
                Assert.Fail($"message {seq}: got {body.Length} octets starting {Convert.ToHexString(body.AsSpan(0, Math.Min(8, body.Length)))}");
            }
        }

        (await sending.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(Count);
    }

    private static byte[] Body(int seq)
    {
        var body = new byte[Size];
        body.AsSpan().Fill(0x5A);
        BinaryPrimitives.WriteInt32BigEndian(body, seq);
        return body;
    }

    private static async Task Connect(OurSide ours, PeerSocket theirs, bool oursBinds)
    {
        if (oursBinds)
        {
            await theirs.ConnectAsync(ours.Socket.Bind("tcp://127.0.0.1:0"));
        }
        else
        {
            ours.Socket.Connect(await theirs.BindAsync());
        }
    }
}
