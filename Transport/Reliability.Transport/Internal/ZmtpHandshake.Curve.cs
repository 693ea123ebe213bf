using Reliability.Transport.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>The CURVE part of the handshake (docs/wire/curve.md §3): the state machines of Curve/ driven over the socket.</summary>
internal sealed partial class ZmtpHandshake
{
    /// <summary>This connection's CURVE state, with copies of the socket's keys that it wipes when disposed.</summary>
    private static CurveMechanism CreateCurve(SocketOptions options, byte[] metadata)
    {
        byte[] secret = CurveKeyPair.DecodeKey(options.CurveSecretKey, nameof(SocketOptions.CurveSecretKey));
        try
        {
            Span<byte> publicKey = stackalloc byte[Sodium.KeyBytes];
            Sodium.DerivePublicKey(secret, publicKey);
            return options.CurveServer
                ? new CurveServer(publicKey, secret, metadata)
                : new CurveClient(CurveKeyPair.DecodeKey(options.CurveServerKey, nameof(SocketOptions.CurveServerKey)), publicKey, secret, metadata);
        }
        finally
        {
            Sodium.Zero(secret);
        }
    }

    /// <summary>
    /// After the greeting: WELCOME and READY in (client), or HELLO and INITIATE in (server). Owns
    /// <paramref name="curve"/>: on success it travels in the result, on failure it is wiped here.
    /// </summary>
    private async Task<HandshakeResult> RunCurveAsync(CurveMechanism curve, byte peerMinor, CancellationToken cancellationToken)
    {
        bool handedOver = false;
        try
        {
            HandshakeResult result;
            if (curve is CurveClient client)
            {
                var welcome = await ReadCurveCommandAsync(cancellationToken).ConfigureAwait(false);
                await SendAsync(CommandFrame(client.ProcessWelcome(welcome.Span)), cancellationToken).ConfigureAwait(false);
                var ready = await ReadCurveCommandAsync(cancellationToken).ConfigureAwait(false);
                result = CheckProperties(client.ProcessReady(ready.Span), peerMinor);
            }
            else
            {
                var server = (CurveServer)curve;
                var hello = await ReadCurveCommandAsync(cancellationToken).ConfigureAwait(false);
                await SendAsync(CommandFrame(server.ProcessHello(hello.Span)), cancellationToken).ConfigureAwait(false);
                var initiate = server.ProcessInitiate((await ReadCurveCommandAsync(cancellationToken).ConfigureAwait(false)).Span);
                string clientKey = Z85.Encode(initiate.ClientPublicKey);
                if (owner.Options.Authenticator is { } authenticator
                    && Authenticate(authenticator.Authenticate, new AuthenticationRequest(SecurityMechanism.Curve, remoteEndpoint, CurvePublicKey: clientKey)) is { Allowed: false } refused)
                {
                    // The key is proven but not allowed: ERROR in clear, as libzmq's CURVE server sends it.
                    await SendAsync(RefusalFrame, cancellationToken).ConfigureAwait(false);
                    return Fail(ProtocolError.AuthenticationFailed, refused.Reason);
                }

                result = CheckProperties(initiate.Metadata, peerMinor) with { UserId = clientKey };
                if (result.Succeeded)
                {
                    await SendAsync(CommandFrame(server.CreateReady()), cancellationToken).ConfigureAwait(false);
                }
            }

            handedOver = result.Succeeded;
            return handedOver ? result with { Curve = curve } : result;
        }
        catch (ProtocolException ex)
        {
            // A box that does not open, a replayed nonce, a malformed command or the peer's ERROR.
            return Fail(ex.Error, ex.Message);
        }
        finally
        {
            if (!handedOver)
            {
                curve.Dispose();
            }
        }
    }

    private async Task<ReadOnlyMemory<byte>> ReadCurveCommandAsync(CancellationToken cancellationToken)
    {
        var (flags, body) = await ReadFrameAsync(cancellationToken).ConfigureAwait(false);
        return (flags & FrameFlags.Command) != 0
            ? body
            : throw new ProtocolException(ProtocolError.MalformedCommand, "a CURVE handshake frame is not a command");
    }

    /// <summary>A command frame around a body that already starts with its name (the CURVE state machines' output).</summary>
    private static byte[] CommandFrame(byte[] body)
    {
        int header = FrameHeader.LengthFor(body.Length);
        var frame = new byte[header + body.Length];
        FrameHeader.Write(frame, body.Length, more: false, command: true);
        body.CopyTo(frame, header);
        return frame;
    }
}
