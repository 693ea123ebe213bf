using System.Net.Sockets;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>Version detection and the ZMTP/2.0 handshake (RFC 15; docs/wire/zmtp.md §3, §17).</summary>
internal sealed partial class ZmtpHandshake
{
    /// <summary>The identity we announce: the routing id for the socket types libzmq sends one for.</summary>
    private ReadOnlySpan<byte> OwnIdentity =>
        SocketTypes.SendsIdentity(owner.Type) ? owner.Options.RoutingId.Span : [];

    /// <summary>
    /// Checks the peer's greeting as it arrives: true when <paramref name="count"/> octets are in and
    /// valid so far. A prefix that cannot start a ZeroMQ greeting fails at once, as does a ZMTP/1.0 peer.
    /// </summary>
    private bool CheckGreetingPrefix(int count)
    {
        var received = decoder.Buffered;
        if (LegacyGreeting.CheckPrefix(received) is { } notZeroMq)
        {
            throw new ProtocolException(ProtocolError.BadGreeting, $"{notZeroMq} [{LegacyGreeting.Hex(received)}]");
        }

        if (LegacyGreeting.IsV1(received))
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion,
                $"peer speaks ZMTP 1.0 (no signature: [{LegacyGreeting.Hex(received)}]), which this transport does not speak");
        }

        return received.Length >= count;
    }

    /// <summary>Refuses a peer older than <see cref="SocketOptions.MinimumZmtpVersion"/>; null when it is recent enough.</summary>
    private HandshakeResult? MinimumVersionRefusal(byte major, byte minor)
    {
        var minimum = owner.Options.MinimumZmtpVersion;
        if (major > minimum.Major || (major == minimum.Major && minor >= minimum.Minor))
        {
            return null;
        }

        return Fail(ProtocolError.UnsupportedVersion,
            $"peer speaks ZMTP {major}.{minor}; this socket requires ZMTP {minimum.Major}.{minimum.Minor} or later (MinimumZmtpVersion)");
    }

    /// <summary>
    /// ZMTP/2.0: socket-type octet and identity frame after the signature and revision, then 2.0
    /// framing, which is 3.x framing without commands. No mechanism exists, so a socket with
    /// security configured refuses the peer rather than talk to it in the clear.
    /// </summary>
    private async Task<HandshakeResult> RunV2Async(byte revision, CancellationToken cancellationToken)
    {
        const byte peerMajor = 2;
        if (owner.Options.Plain is not null)
        {
            return Fail(ProtocolError.MechanismMismatch,
                $"peer speaks ZMTP 2.0 (revision {revision}), which has no security mechanism; this socket requires PLAIN");
        }

        if (MinimumVersionRefusal(peerMajor, 0) is { } tooOld)
        {
            return tooOld;
        }

        var identity = OwnIdentity;
        var reply = new byte[1 + 2 + identity.Length];
        reply[0] = LegacyGreeting.TypeCode(owner.Type);
        reply[1] = 0; // identity frame: final, short
        reply[2] = (byte)identity.Length;
        identity.CopyTo(reply.AsSpan(3));
        await SendAsync(reply, cancellationToken).ConfigureAwait(false);

        await EnsureAsync(LegacyGreeting.V2Length, cancellationToken).ConfigureAwait(false);
        byte typeCode = decoder.Buffered[LegacyGreeting.V2Length - 1];
        string? peerType = LegacyGreeting.TypeName(typeCode);
        if (peerType is null || !SocketTypes.IsCompatible(owner.Type, peerType))
        {
            return Fail(ProtocolError.IncompatibleSocketType,
                $"a {SocketTypes.WireName(owner.Type)} socket cannot talk to a ZMTP 2.0 {peerType ?? $"socket of unknown type {typeCode}"}");
        }

        decoder.Consume(LegacyGreeting.V2Length);
        var (flags, body) = await ReadFrameAsync(cancellationToken).ConfigureAwait(false);
        if ((flags & ~FrameFlags.Long) != 0)
        {
            return Fail(ProtocolError.MalformedFrame, $"ZMTP 2.0 identity frame with flags 0x{(byte)flags:x2}");
        }

        return new HandshakeResult(true, null, "ok", peerType, body.ToArray(), 0, peerMajor);
    }
}
