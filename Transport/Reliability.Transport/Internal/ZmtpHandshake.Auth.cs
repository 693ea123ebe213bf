using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>Where the handshake asks the socket's <see cref="Authenticator"/> (docs/security.md).</summary>
internal sealed partial class ZmtpHandshake
{
    /// <summary>ERROR "400", the status libzmq's ZAP gives a refused peer, sent in clear by PLAIN and CURVE servers alike.</summary>
    private static readonly byte[] RefusalFrame = Commands.BuildCommandFrame(Commands.ErrorName, [3, (byte)'4', (byte)'0', (byte)'0']);

    /// <summary>
    /// Before any byte is sent: the address rule for PLAIN and CURVE servers, the whole decision for NULL
    /// (it has no credentials to wait for). Null when the peer may go on.
    /// </summary>
    private HandshakeResult? AuthenticateEarly(SocketOptions options)
    {
        if (options.Authenticator is not { } authenticator)
        {
            return null;
        }

        var verdict = options.UsesCurve || options.Plain is not null
            ? authenticator.RefuseAddress(remoteEndpoint)
            : Authenticate(authenticator.Authenticate, new AuthenticationRequest(SecurityMechanism.Null, remoteEndpoint));
        return verdict is { Allowed: false } refused ? Fail(ProtocolError.AuthenticationFailed, refused.Reason) : null;
    }

    /// <summary>Asks <paramref name="decide"/>; a hook that throws refuses the peer instead of taking the socket down.</summary>
    private AuthenticationResult Authenticate(Func<AuthenticationRequest, AuthenticationResult> decide, AuthenticationRequest request)
    {
        try
        {
            return decide(request);
        }
        catch (Exception ex)
        {
            Log.AuthenticatorFailed(owner.Logger, owner.Type, remoteEndpoint, ex);
            return new AuthenticationResult(false, null, "the authenticator threw " + ex.GetType().Name);
        }
    }
}
