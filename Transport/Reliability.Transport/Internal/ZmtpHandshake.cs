using System.Net.Sockets;
using Reliability.Transport.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>Result of the greeting and READY exchange.</summary>
internal sealed record HandshakeResult(bool Succeeded, ProtocolError? Error, string Reason, string PeerSocketType, byte[] PeerIdentity, byte PeerMinor, byte PeerMajor = Greeting.MajorVersion)
{
    /// <summary>A ZMTP/1.0 peer without a signature: it sends no subscriptions, so a publisher sends it everything.</summary>
    public bool PeerFiltersItself { get; init; }

    /// <summary>The CURVE state of a connection whose handshake succeeded with CURVE: it boxes and opens every later frame (docs/wire/curve.md §4).</summary>
    public CurveMechanism? Curve { get; init; }

    /// <summary>Who the peer authenticated as (CURVE key in Z85, PLAIN user name); null for NULL peers and clients.</summary>
    public string? UserId { get; init; }
}

/// <summary>
/// The opening of a ZMTP connection: greetings, the security mechanism (NULL, or PLAIN as client or
/// server) and the metadata exchange. Reads through the decoder's buffer, which keeps whatever the
/// peer sent after its last handshake command for the traffic that follows.
/// </summary>
internal sealed partial class ZmtpHandshake(ZmqSocket owner, Socket socket, ZmtpDecoder decoder, string remoteEndpoint)
{
    /// <summary>
    /// Greets in libzmq's steps, answers the peer in its version (docs/wire/zmtp.md §3, §17) and,
    /// with a 3.x peer, sends READY right behind the greeting and validates the peer's (§6).
    /// </summary>
    public async Task<HandshakeResult> RunAsync(CancellationToken cancellationToken)
    {
        var options = owner.Options;
        CurveMechanism? curve = null;
        using var timeout = options.HandshakeTimeout > TimeSpan.Zero
            ? new CancellationTokenSource(options.HandshakeTimeout, owner.TimeProvider)
            : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var plain = options.Plain;
            bool plainServer = options.IsPlainServer;
            if (AuthenticateEarly(options) is { } refused)
            {
                // Refused by address (or a NULL peer by the hook) before a byte is sent: nothing to tell it.
                return refused;
            }

            byte[] metadata = Commands.BuildMetadata(
                SocketTypes.WireName(owner.Type), options.RoutingId.Span, SocketTypes.SendsIdentity(owner.Type));
            byte[] metadataFrame = Commands.BuildCommandFrame(Commands.ReadyName, metadata);
            curve = options.UsesCurve ? CreateCurve(options, metadata) : null;
            byte[] mechanism = (curve is not null ? Greeting.CurveMechanism : plain is null ? Greeting.NullMechanism : Greeting.PlainMechanism).ToArray();

            // NULL: greeting and READY at once. PLAIN or CURVE client: greeting and HELLO. Servers: greeting only.
            byte[] first = curve is CurveClient curveClient ? CommandFrame(curveClient.CreateHello())
                : curve is not null ? []
                : plain is null ? metadataFrame
                : plainServer ? []
                : Commands.BuildCommandFrame(Commands.HelloName, Commands.BuildHelloData(plain.UserName, plain.Password));
            var opening = new byte[Greeting.Length + first.Length];
            Greeting.Write(opening, mechanism, plainServer || curve is CurveServer);
            LegacyGreeting.WriteSignature(opening, OwnIdentity.Length);
            first.CopyTo(opening, Greeting.Length);

            // Version detection (docs/wire/zmtp.md §17), in libzmq's steps: our signature; once the
            // peer's is in, our major version; once its revision is in, the rest in its version.
            await SendAsync(opening.AsMemory(0, LegacyGreeting.SignatureLength), linked.Token).ConfigureAwait(false);
            if (!await ReadSignatureAsync(linked.Token).ConfigureAwait(false))
            {
                return await RunUnversionedAsync(linked.Token).ConfigureAwait(false);
            }

            await SendAsync(opening.AsMemory(LegacyGreeting.SignatureLength, 1), linked.Token).ConfigureAwait(false);
            await EnsureAsync(LegacyGreeting.SignatureLength + 1, linked.Token).ConfigureAwait(false);
            byte revision = decoder.Buffered[LegacyGreeting.SignatureLength];
            if (revision <= LegacyGreeting.LastV2Revision)
            {
                return await RunRevisionedAsync(revision, linked.Token).ConfigureAwait(false);
            }

            if (revision < Greeting.MajorVersion)
            {
                // Known at octet 11: no need to wait for the rest of a 3.x greeting that will not come.
                return Fail(ProtocolError.UnsupportedVersion, Greeting.NotVersion3(revision));
            }

            await SendAsync(opening.AsMemory(LegacyGreeting.SignatureLength + 1), linked.Token).ConfigureAwait(false);
            while (decoder.Buffered.Length < Greeting.Length)
            {
                // Octet by octet as they arrive: a wrong mechanism ends the handshake at once.
                if (Greeting.CheckArriving(decoder.Buffered, mechanism) is { Error: { } early } arriving)
                {
                    return Fail(early, arriving.Reason!);
                }

                await ReceiveAsync(Greeting.Length, linked.Token).ConfigureAwait(false);
            }

            var greeting = Greeting.Parse(decoder.Buffered[..Greeting.Length], mechanism);
            if (greeting.Error is { } greetingError)
            {
                return Fail(greetingError, greeting.Reason!);
            }

            if (MinimumVersionRefusal(revision, greeting.PeerMinor, $"ZMTP {revision}.{greeting.PeerMinor}") is { } tooOld)
            {
                return tooOld;
            }

            decoder.Consume(Greeting.Length);
            if (curve is not null)
            {
                var secured = await RunCurveAsync(curve, greeting.PeerMinor, linked.Token).ConfigureAwait(false);
                curve = null;
                return secured;
            }

            var (flags, body) = await ReadFrameAsync(linked.Token).ConfigureAwait(false);
            if (plain is null)
            {
                return CheckPeerMetadata(flags, body.Span, Commands.ReadyName, greeting.PeerMinor);
            }

            if (!plainServer)
            {
                // RFC 24: HELLO -> WELCOME, INITIATE (our metadata) -> READY (theirs) or ERROR.
                var welcome = CheckCommand(flags, body.Span, Commands.WelcomeName);
                if (welcome is not null)
                {
                    return welcome;
                }

                var initiate = Commands.BuildCommandFrame(Commands.InitiateName, metadata);
                await SendAsync(initiate, linked.Token).ConfigureAwait(false);
                (flags, body) = await ReadFrameAsync(linked.Token).ConfigureAwait(false);
                return CheckPeerMetadata(flags, body.Span, Commands.ReadyName, greeting.PeerMinor);
            }

            var hello = CheckHello(flags, body.Span, plain, out var denied, out string? userId);
            if (hello is not null)
            {
                if (denied)
                {
                    // RFC 24: a refused client gets ERROR and is not served.
                    await SendAsync(RefusalFrame, linked.Token).ConfigureAwait(false);
                }

                return hello;
            }

            await SendAsync(Commands.BuildCommandFrame(Commands.WelcomeName, []), linked.Token).ConfigureAwait(false);
            (flags, body) = await ReadFrameAsync(linked.Token).ConfigureAwait(false);
            var result = CheckPeerMetadata(flags, body.Span, Commands.InitiateName, greeting.PeerMinor);
            if (result.Succeeded)
            {
                await SendAsync(metadataFrame, linked.Token).ConfigureAwait(false);
            }

            return result with { UserId = userId };
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Fail(ProtocolError.HandshakeTimeout, $"handshake not completed within {options.HandshakeTimeout.TotalMilliseconds} ms");
        }
        finally
        {
            // Set only while the CURVE state is ours; a connection that takes it over clears this first.
            curve?.Dispose();
        }
    }

    /// <summary>Null when the frame is the expected handshake command; otherwise the failure (ERROR is reported as PeerError).</summary>
    private static HandshakeResult? CheckCommand(FrameFlags flags, ReadOnlySpan<byte> body, ReadOnlySpan<byte> expected)
    {
        if ((flags & FrameFlags.Command) == 0 || !Commands.TrySplit(body, out var name, out var data))
        {
            return Fail(ProtocolError.MalformedCommand, "a handshake frame is not a command");
        }

        if (name.SequenceEqual(Commands.ErrorName))
        {
            return Fail(ProtocolError.PeerError, "peer sent ERROR: " + Commands.ParseErrorReason(data));
        }

        if (!name.SequenceEqual(expected))
        {
            return Fail(ProtocolError.MalformedCommand, $"expected {System.Text.Encoding.ASCII.GetString(expected)}, got '{System.Text.Encoding.ASCII.GetString(name)}'");
        }

        return null;
    }

    /// <summary>PLAIN server: parses HELLO and asks the authenticator. Null = accepted.</summary>
    private HandshakeResult? CheckHello(FrameFlags flags, ReadOnlySpan<byte> body, PlainOptions plain, out bool denied, out string? userId)
    {
        denied = false;
        userId = null;
        var error = CheckCommand(flags, body, Commands.HelloName);
        if (error is not null)
        {
            return error;
        }

        Commands.TrySplit(body, out _, out var data);
        if (!Commands.TryParseHello(data, out string userName, out string password))
        {
            return Fail(ProtocolError.MalformedCommand, "malformed HELLO");
        }

        var verdict = Authenticate(plain.Authenticator is { } check
            ? request => new AuthenticationResult(check(new PlainCredentials(request.UserName!, request.Password!, request.PeerAddress)), request.UserName, "PLAIN authenticator")
            : owner.Options.Authenticator!.Authenticate,
            new AuthenticationRequest(SecurityMechanism.Plain, remoteEndpoint, userName, password));
        if (!verdict.Allowed)
        {
            denied = true;
            return Fail(ProtocolError.AuthenticationFailed, $"PLAIN credentials of user '{userName}' refused ({verdict.Reason})");
        }

        userId = verdict.UserId ?? userName;
        return null;
    }

    private HandshakeResult CheckPeerMetadata(FrameFlags flags, ReadOnlySpan<byte> body, ReadOnlySpan<byte> expected, byte peerMinor)
    {
        var error = CheckCommand(flags, body, expected);
        if (error is not null)
        {
            return error;
        }

        Commands.TrySplit(body, out _, out var data);
        return CheckProperties(data, peerMinor);
    }

    /// <summary>Validates the peer's metadata properties (READY, or PLAIN/CURVE INITIATE).</summary>
    private HandshakeResult CheckProperties(ReadOnlySpan<byte> data, byte peerMinor)
    {
        var properties = Commands.ParseReady(data, out string? readyError);
        if (properties is null)
        {
            return Fail(ProtocolError.MalformedCommand, "malformed READY: " + readyError);
        }

        // libzmq does not require Socket-Type; when it is present it must be a legal partner.
        if (properties.SocketType is { } peerType && !SocketTypes.IsCompatible(owner.Type, peerType))
        {
            return Fail(ProtocolError.IncompatibleSocketType, $"a {SocketTypes.WireName(owner.Type)} socket cannot talk to a {peerType} socket");
        }

        return new HandshakeResult(true, null, "ok", properties.SocketType ?? "?", properties.Identity, peerMinor);
    }

    private static HandshakeResult Fail(ProtocolError error, string reason) =>
        new(false, error, reason, string.Empty, [], 0);

    /// <summary>One handshake frame, in ZMTP/1.0 framing with <paramref name="zmtp1"/>.</summary>
    private async ValueTask<(FrameFlags Flags, ReadOnlyMemory<byte> Body)> ReadFrameAsync(CancellationToken cancellationToken, bool zmtp1 = false)
    {
        await EnsureAsync(2, cancellationToken).ConfigureAwait(false);
        FrameFlags flags;
        long size;
        int headerLength;
        while (zmtp1 ? !FrameHeader.TryReadV1(decoder.Buffered, out flags, out size, out headerLength) : !FrameHeader.TryRead(decoder.Buffered, out flags, out size, out headerLength))
        {
            await ReceiveAsync(FrameHeader.MaxLength, cancellationToken).ConfigureAwait(false);
        }

        if (size is < 0 or > ZmtpDecoder.MaxCommandSize)
        {
            throw new ProtocolException(ProtocolError.MalformedCommand, $"handshake frame of {size} octets");
        }

        await EnsureAsync(headerLength + (int)size, cancellationToken).ConfigureAwait(false);
        var body = decoder.Buffered.Slice(headerLength, (int)size).ToArray();
        decoder.Consume(headerLength + (int)size);
        return (flags, body);
    }

    private ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        ZmtpConnection.SendAllAsync(socket, data, cancellationToken);

    /// <summary>Reads until at least <paramref name="count"/> bytes are buffered.</summary>
    private async ValueTask EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (decoder.Buffered.Length < count)
        {
            await ReceiveAsync(count, cancellationToken).ConfigureAwait(false);
        }
    }
}
