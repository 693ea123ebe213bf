using FluentAssertions;
using Reliability.Transport.Curve;

namespace Reliability.Transport.Tests.Curve;

/// <summary>Z85 against RFC 32's own example, and key pairs made and checked through libsodium.</summary>
public sealed class KeyTests
{
    // RFC 32, "Test Case": these 8 octets encode as "HelloWorld".
    private static readonly byte[] RfcOctets = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

    [Fact]
    public void Encode_RfcExample_IsHelloWorld() => Z85.Encode(RfcOctets).Should().Be("HelloWorld");

    [Fact]
    public void Decode_RfcExample_GivesTheRfcOctets() => Z85.Decode("HelloWorld").Should().Equal(RfcOctets);

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(32)]
    [InlineData(400)]
    public void EncodeThenDecode_RandomOctets_RoundTrips(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        string text = Z85.Encode(data);
        text.Length.Should().Be(length / 4 * 5);
        Z85.Decode(text).Should().Equal(data);
    }

    [Fact]
    public void Encode_LengthNotMultipleOfFour_Throws() =>
        FluentActions.Invoking(() => Z85.Encode(new byte[3])).Should().Throw<ArgumentException>();

    [Theory]
    [InlineData("Hello")]       // valid
    [InlineData("HelloWorl")]   // 9 characters
    [InlineData("Hello Worl")]  // space is not in the alphabet
    [InlineData("Hello\u00e9orl")] // nor is anything past ASCII
    [InlineData("#####")]       // 85^5-1 overflows 32 bits
    public void TryDecode_Input_AcceptsOnlyValidZ85(string text)
    {
        bool valid = text == "Hello";
        Z85.TryDecode(text, out var data).Should().Be(valid);
        data.Length.Should().Be(valid ? 4 : 0);
        if (!valid)
        {
            FluentActions.Invoking(() => Z85.Decode(text)).Should().Throw<FormatException>();
        }
    }

    [Fact]
    public void Generate_TwoPairs_AreFortyCharactersAndDistinct()
    {
        var first = CurveKeyPair.Generate();
        var second = CurveKeyPair.Generate();
        first.PublicKey.Should().HaveLength(CurveKeyPair.KeyTextLength);
        first.SecretKey.Should().HaveLength(CurveKeyPair.KeyTextLength);
        first.PublicKey.Should().NotBe(second.PublicKey);
        first.SecretKey.Should().NotBe(second.SecretKey);
        first.ToString().Should().NotContain(first.SecretKey);
    }

    [Fact]
    public void FromSecretKey_GeneratedSecret_DerivesTheSamePublicKey()
    {
        var pair = CurveKeyPair.Generate();
        var again = CurveKeyPair.FromSecretKey(pair.SecretKey);
        again.PublicKey.Should().Be(pair.PublicKey);
        again.SecretKey.Should().Be(pair.SecretKey);
    }

    [Fact]
    public void FromSecretKey_KnownSecret_DerivesTheX25519PublicKey()
    {
        // RFC 7748 §6.1: Alice's private key and the public key X25519 gives for it.
        byte[] secret = Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        byte[] expected = Convert.FromHexString("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        CurveKeyPair.FromSecretKey(Z85.Encode(secret)).PublicKey.Should().Be(Z85.Encode(expected));
    }

    [Theory]
    [InlineData("")]
    [InlineData("HelloWorld")]
    [InlineData("0123456789012345678901234567890123456 89")]
    public void FromSecretKey_NotAKey_ThrowsFormatException(string text) =>
        FluentActions.Invoking(() => CurveKeyPair.FromSecretKey(text)).Should().Throw<FormatException>();

    [Fact]
    public void FixedTimeEquals_Spans_ComparesContentAndLength()
    {
        byte[] key = new byte[32];
        Random.Shared.NextBytes(key);
        byte[] other = (byte[])key.Clone();
        Sodium.FixedTimeEquals(key, other).Should().BeTrue();
        other[31] ^= 1;
        Sodium.FixedTimeEquals(key, other).Should().BeFalse();
        Sodium.FixedTimeEquals(key, key.AsSpan(0, 31)).Should().BeFalse();
    }

    [Fact]
    public void Box_OpenedWithThePeersKeys_GivesTheMessageAndRejectsATamperedByte()
    {
        var (alicePublic, aliceSecret) = (new byte[32], new byte[32]);
        var (bobPublic, bobSecret) = (new byte[32], new byte[32]);
        Sodium.GenerateKeyPair(alicePublic, aliceSecret);
        Sodium.GenerateKeyPair(bobPublic, bobSecret);
        byte[] nonce = new byte[Sodium.NonceBytes];
        Sodium.Random(nonce);
        byte[] message = "attack at dawn"u8.ToArray();

        byte[] box = new byte[message.Length + Sodium.MacBytes];
        Sodium.Box(box, message, nonce, bobPublic, aliceSecret);
        byte[] opened = new byte[message.Length];
        Sodium.TryOpen(opened, box, nonce, alicePublic, bobSecret).Should().BeTrue();
        opened.Should().Equal(message);

        // The precomputed key is the same shared secret from either side.
        byte[] shared = new byte[32];
        Sodium.TryPrecompute(shared, alicePublic, bobSecret).Should().BeTrue();
        Sodium.TryOpenPrecomputed(opened, box, nonce, shared).Should().BeTrue();

        // The all-zero point gives an all-zero shared secret, which libsodium refuses.
        Sodium.TryPrecompute(shared, new byte[32], bobSecret).Should().BeFalse();

        box[^1] ^= 0x80;
        Sodium.TryOpen(opened, box, nonce, alicePublic, bobSecret).Should().BeFalse();
    }

    [Fact]
    public void SecretBox_WrongKey_DoesNotOpen()
    {
        byte[] key = new byte[32];
        byte[] nonce = new byte[Sodium.NonceBytes];
        Sodium.Random(key);
        Sodium.Random(nonce);
        byte[] box = new byte[64 + Sodium.MacBytes];
        Sodium.SecretBox(box, new byte[64], nonce, key);
        byte[] opened = new byte[64];
        Sodium.TryOpenSecretBox(opened, box, nonce, key).Should().BeTrue();
        key[0] ^= 1;
        Sodium.TryOpenSecretBox(opened, box, nonce, key).Should().BeFalse();
    }

    [Fact]
    public void Zero_Buffer_IsAllZeros()
    {
        byte[] secret = new byte[32];
        Sodium.Random(secret);
        Sodium.Zero(secret);
        secret.Should().OnlyContain(b => b == 0);
    }
}
