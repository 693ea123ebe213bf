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
