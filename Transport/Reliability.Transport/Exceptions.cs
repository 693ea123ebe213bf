namespace Reliability.Transport;

/// <summary>Root of every exception the toolkit throws on purpose.</summary>
public class ReliabilityException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public ReliabilityException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public ReliabilityException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}

/// <summary>An endpoint string could not be parsed, resolved or bound.</summary>
public sealed class EndpointException : ReliabilityException
{
    /// <summary>Creates the exception for <paramref name="endpoint"/>.</summary>
    public EndpointException(string endpoint, string message, Exception? innerException = null)
        : base($"Endpoint '{endpoint}': {message}", innerException)
    {
        Endpoint = endpoint;
    }

    /// <summary>The endpoint as given by the caller.</summary>
    public string Endpoint { get; }
}

/// <summary>A peer broke the ZMTP protocol (bad greeting, wrong socket type, malformed frame, over-size message).</summary>
public sealed class ProtocolException : ReliabilityException
{
    /// <summary>Creates the exception with a reason.</summary>
    public ProtocolException(ProtocolError error, string message) : base(message)
    {
        Error = error;
    }

    /// <summary>What kind of violation it was.</summary>
    public ProtocolError Error { get; }
}

/// <summary>
/// The operation is not allowed in the socket's current state: a REQ socket sending twice
/// without receiving (libzmq's EFSM), a REP socket replying before it received a request.
/// </summary>
public sealed class SocketStateException : ReliabilityException
{
    /// <summary>Creates the exception with a message.</summary>
    public SocketStateException(string message) : base(message)
    {
    }
}

/// <summary>A ROUTER socket with <see cref="SocketOptions.RouterMandatory"/> was asked to send to an unknown or gone peer.</summary>
public sealed class HostUnreachableException : ReliabilityException
{
    /// <summary>Creates the exception for the given routing id.</summary>
    public HostUnreachableException(ReadOnlyMemory<byte> routingId)
        : base($"No connected peer has routing id 0x{Convert.ToHexString(routingId.Span)}.")
    {
        RoutingId = routingId;
    }

    /// <summary>The routing id that could not be routed.</summary>
    public ReadOnlyMemory<byte> RoutingId { get; }
}

/// <summary>Kinds of ZMTP protocol violation, as reported in events and exceptions.</summary>
public enum ProtocolError
{
    /// <summary>The peer's greeting is not a ZMTP 3.x greeting.</summary>
    BadGreeting,

    /// <summary>The peer speaks a ZMTP version older than 3.0.</summary>
    UnsupportedVersion,

    /// <summary>The peer uses a security mechanism other than ours.</summary>
    MechanismMismatch,

    /// <summary>The handshake did not start with READY or ERROR, or a command was malformed.</summary>
    MalformedCommand,

    /// <summary>The peer's socket type may not talk to ours (docs/wire/zmtp.md §7).</summary>
    IncompatibleSocketType,

    /// <summary>The peer sent an ERROR command during the handshake.</summary>
    PeerError,

    /// <summary>A frame header was invalid (e.g. a command with MORE set, or a size that cannot fit).</summary>
    MalformedFrame,

    /// <summary>An inbound message exceeded <see cref="SocketOptions.MaxMessageSize"/>.</summary>
    MessageTooLarge,

    /// <summary>The handshake did not complete within <see cref="SocketOptions.HandshakeTimeout"/>.</summary>
    HandshakeTimeout,

    /// <summary>Another connection already uses the peer's identity (ROUTER without handover).</summary>
    DuplicateIdentity,

    /// <summary>The socket accepts only one peer and already has one (PAIR).</summary>
    PeerRefused,

    /// <summary>PLAIN: the server's authenticator refused the peer's credentials.</summary>
    AuthenticationFailed,

    /// <summary>A CURVE box did not open (wrong key or altered bytes) or a short nonce did not increase (a replay).</summary>
    CryptographicFailure,
}
