namespace Reliability.Mdp.Protocol;

/// <summary>Majordomo protocol version, selected on the wire by the header frame.</summary>
public enum MdpVersion
{
    /// <summary>MDP/0.1 (RFC 7, stable): headers <c>MDPC01</c>/<c>MDPW01</c>, leading empty frame, REPLY.</summary>
    V01,

    /// <summary>MDP/0.2 (RFC 18, draft): headers <c>MDPC02</c>/<c>MDPW02</c>, no empty frame, PARTIAL and FINAL.</summary>
    V02,
}

/// <summary>The socket type a Majordomo client uses; it decides whether the client application sees the empty delimiter frame.</summary>
public enum MdpClientSocket
{
    /// <summary>A REQ socket: it adds the empty delimiter when sending and strips it when receiving (MDP/0.1 only).</summary>
    Req,

    /// <summary>A DEALER socket: the application adds and sees the MDP/0.1 empty delimiter itself.</summary>
    Dealer,
}

/// <summary>The text forms of <see cref="MdpVersion"/>: <c>0.1</c>/<c>0.2</c> (options, metric tags) and <c>MDP/0.1</c>/<c>MDP/0.2</c> (logs).</summary>
public static class MdpVersions
{
    /// <summary><c>0.1</c> or <c>0.2</c>.</summary>
    public static string Number(this MdpVersion version) => version == MdpVersion.V01 ? "0.1" : "0.2";

    /// <summary><c>MDP/0.1</c> or <c>MDP/0.2</c>.</summary>
    public static string DisplayName(this MdpVersion version) => version == MdpVersion.V01 ? "MDP/0.1" : "MDP/0.2";

    /// <summary>Reads <c>0.1</c> or <c>0.2</c> (as <see cref="Number"/> writes them); false for anything else.</summary>
    public static bool TryParse(string? text, out MdpVersion version)
    {
        switch (text)
        {
            case "0.1":
                version = MdpVersion.V01;
                return true;
            case "0.2":
                version = MdpVersion.V02;
                return true;
            default:
                version = default;
                return false;
        }
    }

    /// <summary>
    /// Checks a service name as clients, workers and the broker do: 1 to 255 UTF-8 bytes, no control characters.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a valid service name (the message says why).</exception>
    public static void ValidateServiceName(string service) => MdpFrames.ValidateServiceName(service, nameof(service));
}
