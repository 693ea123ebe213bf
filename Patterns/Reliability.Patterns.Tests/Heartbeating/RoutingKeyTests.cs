using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.Tests.Heartbeating;

public sealed class RoutingKeyTests
{
    [Fact]
    public void Equals_SameBytesInDifferentArrays_IsTrue()
    {
        var a = new RoutingKey(new byte[] { 0, 0x80, 0, 0, 1 });
        var b = new RoutingKey(new ReadOnlyMemory<byte>([9, 0, 0x80, 0, 0, 1]).Slice(1));

        (a == b).Should().BeTrue();
        a.Equals((object)b).Should().BeTrue();
        a.GetHashCode().Should().Be(b.GetHashCode());
    }

    [Fact]
    public void Equals_GeneratedIdsDifferingInLastByte_IsFalse()
    {
        var a = new RoutingKey(new byte[] { 0, 0x80, 0, 0, 1 });
        var b = new RoutingKey(new byte[] { 0, 0x80, 0, 0, 2 });

        (a != b).Should().BeTrue();
    }

    [Fact]
    public void Constructor_SourceModifiedAfterwards_KeyKeepsOriginalBytes()
    {
        byte[] frame = [1, 2, 3];
        var key = new RoutingKey(frame);

        frame[0] = 42;

        key.Span.ToArray().Should().Equal(1, 2, 3);
    }

    [Fact]
    public void ToString_BinaryId_IsUpperCaseHex()
    {
        new RoutingKey(new byte[] { 0, 0x80, 0xab, 0, 1 }).ToString().Should().Be("0080AB0001");
    }

    [Fact]
    public void Default_ComparedWithEmptyKey_IsEqual()
    {
        var empty = new RoutingKey(ReadOnlySpan<byte>.Empty);

        (default(RoutingKey) == empty).Should().BeTrue();
        default(RoutingKey).IsEmpty.Should().BeTrue();
        default(RoutingKey).ToString().Should().BeEmpty();
    }

    [Fact]
    public void Comparer_AlternateLookupBySpan_FindsKeyWithoutCreatingOne()
    {
        var workers = new Dictionary<RoutingKey, string>(RoutingKeyComparer.Instance)
        {
            [new RoutingKey(new byte[] { 0, 0x80, 0, 0, 1 })] = "w1",
            [new RoutingKey(new byte[] { 0, 0x80, 0, 0, 2 })] = "w2",
        };
        var lookup = workers.GetAlternateLookup<ReadOnlySpan<byte>>();
        ReadOnlySpan<byte> frame = [0, 0x80, 0, 0, 2];

        lookup.TryGetValue(frame, out string? found).Should().BeTrue();
        found.Should().Be("w2");
        lookup.ContainsKey([0, 0x80, 0, 0, 3]).Should().BeFalse();
    }
}
