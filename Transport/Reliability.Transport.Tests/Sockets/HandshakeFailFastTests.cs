using Reliability.Testing;

namespace Reliability.Transport.Tests.Sockets;

/// <summary>
/// A handshake whose outcome is known ends at once, says why at Warning (once per peer host per
/// minute) and raises HandshakeFailed (docs/wire/zmtp.md §17). Each raw peer sends only the octets
/// that decide, then waits for our close: nothing is left to wait for the handshake timeout.
/// </summary>
public sealed class HandshakeFailFastTests
{
    private const string V2Signature = "ff 00 00 00 00 00 00 00 01 7f";

    /// <summary>(octets the peer sends, error, text the warning must contain).</summary>
    public static TheoryData<string, ProtocolError, string> WrongGreetings() => new()
    {
        { "47 45 54 20", ProtocolError.BadGreeting, "4745" },
        { "16 03", ProtocolError.BadGreeting, "1603" },
        { "00", ProtocolError.BadGreeting, "first octet 00" },
        { "ff 00 00 00 00 00 00 00 00 00", ProtocolError.BadGreeting, "ff000000000000000000" },
        { V2Signature + " 02", ProtocolError.UnsupportedVersion, "revision 02" },
        { V2Signature + " 01 01", ProtocolError.IncompatibleSocketType, "cannot talk to a ZMTP 2.0 (revision 1) PUB" },
        { V2Signature + " 00 08", ProtocolError.IncompatibleSocketType, "cannot talk to a ZMTP 1.0 (revision 0) PUSH" },
        { V2Signature + " 01 0b", ProtocolError.IncompatibleSocketType, "unknown type 11" },
    };

    [Theory]
    [MemberData(nameof(WrongGreetings))]
    public async Task WrongGreeting_EndsTheConnection_WithOneWarningNamingThePeerAndItsOctets(string octets, ProtocolError error, string said)
    {
        var log = new InMemoryLog();
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero }, log);
        await ExpectRefusedAsync(rep, log, Hex(octets), error, said);
    }

    [Fact]
    public async Task PlainSocket_RefusesAZmtp2Peer_InsteadOfTalkingInTheClear()
    {
        var log = new InMemoryLog();
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero, Plain = new PlainOptions { Authenticator = _ => true } }, log);
        await ExpectRefusedAsync(rep, log, Hex(V2Signature + " 01 03"), ProtocolError.MechanismMismatch, "ZMTP 2.0 (revision 1), which has no security mechanism");
    }

    [Fact]
    public async Task PlainSocket_RefusesAZmtp1Peer()
    {
        var log = new InMemoryLog();
        await using var pull = new PullSocket(new SocketOptions { Linger = TimeSpan.Zero, Plain = new PlainOptions { Authenticator = _ => true } }, log);
        await ExpectRefusedAsync(pull, log, Hex("01 00"), ProtocolError.MechanismMismatch, "ZMTP 1.0 (no signature), which has no security mechanism");
    }

    [Fact]
    public async Task MinimumZmtpVersion30_RefusesAZmtp2Peer()
    {
        var log = new InMemoryLog();
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero, MinimumZmtpVersion = new Version(3, 0) }, log);
        await ExpectRefusedAsync(rep, log, Hex(V2Signature + " 01 03"), ProtocolError.UnsupportedVersion, "requires ZMTP 3.0 or later (MinimumZmtpVersion)");
    }

    [Fact]
    public async Task MinimumZmtpVersion31_RefusesAZmtp30Peer()
    {
        var log = new InMemoryLog();
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero, MinimumZmtpVersion = new Version(3, 1) }, log);
        await ExpectRefusedAsync(rep, log, RawPeer.Greeting(minor: 0), ProtocolError.UnsupportedVersion, "peer speaks ZMTP 3.0; this socket requires ZMTP 3.1");
    }

    [Fact]
    public async Task PeerClosingMidGreeting_IsAWarningWithWhatItSent()
    {
        var log = new InMemoryLog();
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero }, log);
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        var failed = rep.NextEvent(SocketEventKind.HandshakeFailed);
        using (var peer = await RawPeer.ConnectAsync(endpoint))
        {
            await peer.SendAsync(Hex("ff 00 00 00"));
        }

        (await failed.Within()).Exception.Should().BeOfType<EndOfStreamException>();
        log.Lines.Should().ContainSingle(l => l.Contains(" Warning ", StringComparison.Ordinal) && l.Contains("tcp://127.0.0.1:", StringComparison.Ordinal)
            && l.Contains("after sending 4 octet(s) [ff000000]", StringComparison.Ordinal), log.ToString());
    }

    [Fact]
    public async Task RepeatedWrongGreetingsFromOneHost_AreWarnedOnce_ButEachIsRaisedAndCounted()
    {
        var log = new InMemoryLog();
        await using var rep = new ReplySocket(new SocketOptions { Linger = TimeSpan.Zero }, log);
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var failed = rep.NextEvent(SocketEventKind.HandshakeFailed);
            using var peer = await RawPeer.ConnectAsync(endpoint);
            await peer.SendAsync(Hex("47 45"));
            (await failed.Within()).Error.Should().Be(ProtocolError.BadGreeting);
        }

        log.Lines.Count(l => l.Contains(" Warning ", StringComparison.Ordinal) && l.Contains("BadGreeting", StringComparison.Ordinal)).Should().Be(1, log.ToString());
        log.Lines.Count(l => l.Contains(" Debug ", StringComparison.Ordinal) && l.Contains("BadGreeting", StringComparison.Ordinal)).Should().Be(2, log.ToString());
    }

    [Fact]
    public void MinimumZmtpVersion_OutsideOneZeroToThreeOne_IsRefused()
    {
        var options = new SocketOptions { MinimumZmtpVersion = new Version(0, 9) };
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*MinimumZmtpVersion must be between 1.0 and 3.1 (was 0.9)*");
    }

    private static async Task ExpectRefusedAsync(ZmqSocket socket, InMemoryLog log, byte[] octets, ProtocolError error, string said)
    {
        string endpoint = socket.Bind("tcp://127.0.0.1:0");
        var failed = socket.NextEvent(SocketEventKind.HandshakeFailed);
        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.SendAsync(octets);

        // Bounded generously; the point is that the close comes without the 30 s handshake timeout.
        await peer.WaitForCloseAsync();
        var failure = await failed.Within();
        failure.Error.Should().Be(error, failure.Exception?.Message);
        log.Lines.Should().ContainSingle(l => l.Contains(" Warning ", StringComparison.Ordinal) && l.Contains("tcp://127.0.0.1:", StringComparison.Ordinal)
            && l.Contains(error.ToString(), StringComparison.Ordinal) && l.Contains(said, StringComparison.Ordinal), log.ToString());
    }

    private static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", string.Empty, StringComparison.Ordinal));
}
