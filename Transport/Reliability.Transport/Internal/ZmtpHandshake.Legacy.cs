using System.Net.Sockets;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>Version detection and the ZMTP/2.0 and 1.0 handshakes (RFC 15, RFC 13; docs/wire/zmtp.md §17).</summary>
internal sealed partial class ZmtpHandshake
{
    /// <summary>The identity we announce: the routing id for the socket types libzmq sends one for.</summary>
    private ReadOnlySpan<byte> OwnIdentity =>
        SocketTypes.SendsIdentity(owner.Type) ? owner.Options.RoutingId.Span : [];

    /// <summary>
    /// Reads until the peer's first octets tell its version: true for a signature, false for a
    /// ZMTP/1.0 identity frame. Octets that cannot start a ZeroMQ greeting fail at once.
    /// </summary>
    private async ValueTask<bool> ReadSignatureAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var received = decoder.Buffered;
            switch (LegacyGreeting.Classify(received, out string? reason))
            {
                case PeerSignature.Versioned:
                    return true;
                case PeerSignature.Unversioned:
                    return false;
                case PeerSignature.Invalid:
                    throw new ProtocolException(ProtocolError.BadGreeting, reason!);
            }

            await ReceiveAsync(LegacyGreeting.SignatureLength, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Refuses an old peer: ZMTP 1.0 and 2.0 have no security mechanism, so a socket with PLAIN or
    /// CURVE never talks to one in the clear; <see cref="SocketOptions.MinimumZmtpVersion"/> may refuse
    /// the rest. Null when the peer is accepted.
    /// </summary>
    private HandshakeResult? LegacyRefusal(byte major, string version)
    {
        if (owner.Options.Plain is not null || owner.Options.UsesCurve)
        {
            return Fail(ProtocolError.MechanismMismatch,
                $"peer speaks {version}, which has no security mechanism; this socket requires {(owner.Options.UsesCurve ? "CURVE" : "PLAIN")}");
        }

        return MinimumVersionRefusal(major, 0, version);
    }

    /// <summary>Refuses a peer older than <see cref="SocketOptions.MinimumZmtpVersion"/>; null when it is recent enough.</summary>
    private HandshakeResult? MinimumVersionRefusal(byte major, byte minor, string version)
    {
        var minimum = owner.Options.MinimumZmtpVersion;
        if (major > minimum.Major || (major == minimum.Major && minor >= minimum.Minor))
        {
            return null;
        }

        return Fail(ProtocolError.UnsupportedVersion,
            $"peer speaks {version}; this socket requires ZMTP {minimum.Major}.{minimum.Minor} or later (MinimumZmtpVersion)");
    }

    /// <summary>
    /// RFC 15: revision 1 (ZMTP/2.0) or 0 (ZMTP/1.0 with a revision). We send our socket-type octet
    /// and identity frame, read theirs, check the pair (docs/wire/zmtp.md §7), and frame traffic in
    /// 2.0 (3.x framing, no commands) or 1.0 framing.
    /// </summary>
    private async Task<HandshakeResult> RunRevisionedAsync(byte revision, CancellationToken cancellationToken)
    {
        byte major = revision == 0 ? (byte)1 : (byte)2;
        string version = $"ZMTP {major}.0 (revision {revision})";
        if (LegacyRefusal(major, version) is { } refused)
        {
            return refused;
        }

        var identity = OwnIdentity;
        var reply = new byte[1 + FrameHeader.MaxLength + identity.Length];
        reply[0] = LegacyGreeting.TypeCode(owner.Type);
        int header = major == 1
            ? FrameHeader.WriteV1(reply.AsSpan(1), identity.Length, more: false)
            : FrameHeader.Write(reply.AsSpan(1), identity.Length, more: false, command: false);
        identity.CopyTo(reply.AsSpan(1 + header));
        await SendAsync(reply.AsMemory(0, 1 + header + identity.Length), cancellationToken).ConfigureAwait(false);

        await EnsureAsync(LegacyGreeting.V2Length, cancellationToken).ConfigureAwait(false);
        byte typeCode = decoder.Buffered[LegacyGreeting.V2Length - 1];
        string? peerType = LegacyGreeting.TypeName(typeCode);
        if (peerType is null || !SocketTypes.IsCompatible(owner.Type, peerType))
        {
            return Fail(ProtocolError.IncompatibleSocketType,
                $"a {SocketTypes.WireName(owner.Type)} socket cannot talk to a {version} {peerType ?? $"socket of unknown type {typeCode}"}");
        }

        decoder.Consume(LegacyGreeting.V2Length);
        return await ReadIdentityAsync(major, version, peerType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// RFC 13: the peer sent no signature, only its identity frame. Ours is the signature already
    /// sent (its header) and our identity. No socket type is exchanged, so none can be checked.
    /// </summary>
    private async Task<HandshakeResult> RunUnversionedAsync(CancellationToken cancellationToken)
    {
        const string version = "ZMTP 1.0 (no signature)";
        if (LegacyRefusal(1, version) is { } refused)
        {
            return refused;
        }

        await SendAsync(OwnIdentity.ToArray(), cancellationToken).ConfigureAwait(false);
        var result = await ReadIdentityAsync(1, version, "?", cancellationToken).ConfigureAwait(false);

        // A ZMTP/1.0 subscriber filters by itself and sends no subscriptions: publish everything to it, as libzmq does.
        return result with { PeerFiltersItself = true };
    }

    private async Task<HandshakeResult> ReadIdentityAsync(byte major, string version, string peerType, CancellationToken cancellationToken)
    {
        var (flags, body) = await ReadFrameAsync(cancellationToken, zmtp1: major == 1).ConfigureAwait(false);
        if ((flags & (FrameFlags.More | FrameFlags.Command)) != 0 || body.Length > LegacyGreeting.MaxIdentityLength)
        {
            return Fail(ProtocolError.MalformedFrame,
                $"{version} identity frame with flags {(byte)flags:x2} and {body.Length} octets: [{LegacyGreeting.Hex(body.Span)}]");
        }

        return new HandshakeResult(true, null, "ok", peerType, body.ToArray(), 0, major);
    }

    /// <summary>One read of at least one octet into the buffer, with room for <paramref name="count"/> octets in all.</summary>
    private async ValueTask ReceiveAsync(int count, CancellationToken cancellationToken)
    {
        int read = await socket.ReceiveAsync(decoder.SpaceFor(count), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            var received = decoder.Buffered;
            throw new EndOfStreamException(received.IsEmpty
                ? "peer closed the connection during the handshake without sending anything"
                : $"peer closed the connection during the handshake after sending {received.Length} octet(s) [{LegacyGreeting.Hex(received)}]");
        }

        decoder.Commit(read);
        TransportMetrics.BytesReceived.Add(read);
    }
}
