namespace Reliability.Mdp.Protocol;

/// <summary>Header strings and command bytes of MDP/0.1 (RFC 7).</summary>
internal static class Mdp01
{
    /// <summary>Client sub-protocol header.</summary>
    public const string ClientHeader = "MDPC01";

    /// <summary>Worker sub-protocol header.</summary>
    public const string WorkerHeader = "MDPW01";

    /// <summary>READY, worker to broker.</summary>
    public const byte Ready = 0x01;

    /// <summary>REQUEST, broker to worker.</summary>
    public const byte Request = 0x02;

    /// <summary>REPLY, worker to broker.</summary>
    public const byte Reply = 0x03;

    /// <summary>HEARTBEAT, both directions.</summary>
    public const byte Heartbeat = 0x04;

    /// <summary>DISCONNECT, both directions.</summary>
    public const byte Disconnect = 0x05;
}

/// <summary>
/// Header strings and command bytes of MDP/0.2 (RFC 18). The client and worker sub-protocols
/// number their commands independently, and the worker numbering differs from MDP/0.1.
/// </summary>
internal static class Mdp02
{
    /// <summary>Client sub-protocol header.</summary>
    public const string ClientHeader = "MDPC02";

    /// <summary>Worker sub-protocol header.</summary>
    public const string WorkerHeader = "MDPW02";

    /// <summary>Client REQUEST, client to broker.</summary>
    public const byte ClientRequest = 0x01;

    /// <summary>Client PARTIAL, broker to client.</summary>
    public const byte ClientPartial = 0x02;

    /// <summary>Client FINAL, broker to client.</summary>
    public const byte ClientFinal = 0x03;

    /// <summary>Worker READY, worker to broker.</summary>
    public const byte WorkerReady = 0x01;

    /// <summary>Worker REQUEST, broker to worker.</summary>
    public const byte WorkerRequest = 0x02;

    /// <summary>Worker PARTIAL, worker to broker.</summary>
    public const byte WorkerPartial = 0x03;

    /// <summary>Worker FINAL, worker to broker.</summary>
    public const byte WorkerFinal = 0x04;

    /// <summary>Worker HEARTBEAT, both directions.</summary>
    public const byte WorkerHeartbeat = 0x05;

    /// <summary>Worker DISCONNECT, both directions.</summary>
    public const byte WorkerDisconnect = 0x06;
}
