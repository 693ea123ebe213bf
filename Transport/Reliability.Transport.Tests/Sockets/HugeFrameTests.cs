namespace Reliability.Transport.Tests.Sockets;

/// <summary>
/// A 256 MiB frame: alone, because copying and collecting that much memory pauses the whole test
/// process for long enough to upset the timing of heartbeat tests running beside it.
/// </summary>
[Collection(ExclusiveCollection.Name)]
public sealed class HugeFrameTests
{
    [Fact]
    public async Task Dealer_Frame256MiB_DeliveredIntact()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket();
        dealer.Connect(endpoint);
        var huge = new byte[256 * 1024 * 1024];
        huge[0] = 1;
        huge[^1] = 2;
        huge[huge.Length / 2] = 3;

        await dealer.SendAsync(new Message().Append(huge));
        var received = await router.ReceiveWithin(TimeSpan.FromSeconds(60));

        received[1].Length.Should().Be(huge.Length);
        received[1].Span[0].Should().Be(1);
        received[1].Span[^1].Should().Be(2);
        received[1].Span[huge.Length / 2].Should().Be(3);
    }
}
