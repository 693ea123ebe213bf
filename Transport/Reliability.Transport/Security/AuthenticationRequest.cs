namespace Reliability.Transport;

/// <summary>The ZMTP security mechanism a peer connected with.</summary>
public enum SecurityMechanism
{
    /// <summary>No security (RFC 37's NULL): only the peer's address is known.</summary>
    Null,

    /// <summary>PLAIN (RFC 24): a user name and a clear-text password.</summary>
    Plain,

    /// <summary>CURVE (RFC 26): the client's long-term public key, proven during the handshake.</summary>
    Curve,
}

/// <summary>What a connecting peer presented, as an <see cref="Authenticator"/> sees it (ZAP's request, RFC 27).</summary>
/// <param name="Mechanism">The mechanism of the connection.</param>
/// <param name="PeerAddress">The peer's endpoint, e.g. <c>tcp://127.0.0.1:53122</c>.</param>
/// <param name="UserName">PLAIN: the user name; otherwise null.</param>
/// <param name="Password">PLAIN: the password; otherwise null.</param>
/// <param name="CurvePublicKey">CURVE: the client's public key in Z85; otherwise null.</param>
public sealed record AuthenticationRequest(SecurityMechanism Mechanism, string PeerAddress, string? UserName = null, string? Password = null, string? CurvePublicKey = null)
{
    /// <summary>The password is never printed.</summary>
    /// <returns>The mechanism, address and identity of the request.</returns>
    public override string ToString() =>
        $"AuthenticationRequest({Mechanism} from {PeerAddress}{(UserName is null ? string.Empty : " user " + UserName)}{(CurvePublicKey is null ? string.Empty : " key " + CurvePublicKey)})";
}

/// <summary>An <see cref="Authenticator"/>'s answer (ZAP's reply, RFC 27).</summary>
/// <param name="Allowed">Whether the peer may connect.</param>
/// <param name="UserId">Who the peer is, when allowed: the CURVE public key in Z85 or the PLAIN user name (null for NULL).</param>
/// <param name="Reason">Why, in a few words, for the log.</param>
public sealed record AuthenticationResult(bool Allowed, string? UserId, string Reason);
