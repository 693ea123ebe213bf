using Reliability.Transport;

namespace Reliability.Mdp.Broker;

/// <summary>What a broker requires of one kind of peer (clients or workers), beyond what its socket's mechanism admits.</summary>
public enum BrokerPeerAuth
{
    /// <summary>No requirement of its own (the socket's mechanism still applies to everyone).</summary>
    None,

    /// <summary>The peer must have authenticated with PLAIN (its messages carry a user name).</summary>
    Plain,

    /// <summary>The peer must have authenticated with CURVE (its messages carry its public key).</summary>
    Curve,
}

/// <summary>
/// Security of a <see cref="MajordomoBroker"/> (docs/security.md): the one mechanism its socket speaks
/// (CURVE with <see cref="CurveSecretKey"/>, PLAIN with <see cref="PlainUsers"/>, NULL otherwise), who may
/// connect, and what clients and workers must have authenticated with. A worker whose READY is refused gets
/// DISCONNECT; a client request that is refused is dropped unanswered; both are logged and counted.
/// </summary>
public sealed record BrokerSecurityOptions
{
    /// <summary>The broker's CURVE secret key (Z85): the socket becomes a CURVE server. Default none.</summary>
    public string? CurveSecretKey { get; init; }

    /// <summary>CURVE client keys (Z85) allowed to connect; with none here and no <see cref="CurveAllowDirectory"/>, any key may.</summary>
    public IReadOnlyList<string> CurveAllowedKeys { get; init; } = [];

    /// <summary>A directory of allowed client certificates (czmq zcert files), read again when it changes.</summary>
    public string? CurveAllowDirectory { get; init; }

    /// <summary>PLAIN users and their passwords: the socket becomes a PLAIN server that admits only them.</summary>
    public IReadOnlyDictionary<string, string> PlainUsers { get; init; } = new Dictionary<string, string>();

    /// <summary>What clients must have authenticated with (default <see cref="BrokerPeerAuth.None"/>).</summary>
    public BrokerPeerAuth ClientAuth { get; init; }

    /// <summary>What workers must have authenticated with (default <see cref="BrokerPeerAuth.None"/>).</summary>
    public BrokerPeerAuth WorkerAuth { get; init; }

    /// <summary>
    /// User ids (CURVE public keys in Z85, or PLAIN user names) that may register as workers; empty = every
    /// peer that meets <see cref="WorkerAuth"/>. Listed CURVE keys may connect even with an allow list.
    /// </summary>
    public IReadOnlyList<string> AuthorizedWorkers { get; init; } = [];

    /// <summary>The mechanism the broker's socket speaks.</summary>
    public SecurityMechanism Mechanism =>
        CurveSecretKey is not null ? SecurityMechanism.Curve : PlainUsers.Count > 0 ? SecurityMechanism.Plain : SecurityMechanism.Null;

    /// <summary>Every problem with these settings, empty when they are valid.</summary>
    public IReadOnlyList<string> GetProblems()
    {
        var problems = new List<string>();
        if (CurveSecretKey is not null && !IsKey(CurveSecretKey))
        {
            problems.Add("CurveSecretKey must be a 40-character Z85 key");
        }

        if (CurveSecretKey is not null && PlainUsers.Count > 0)
        {
            problems.Add("CURVE and PLAIN are exclusive: the broker's one socket speaks one mechanism");
        }

        if ((CurveAllowedKeys.Count > 0 || CurveAllowDirectory is not null) && CurveSecretKey is null)
        {
            problems.Add("CurveAllowedKeys and CurveAllowDirectory need CurveSecretKey");
        }

        if (CurveAllowedKeys.Count > 0 && CurveAllowDirectory is not null)
        {
            problems.Add("give CurveAllowedKeys or CurveAllowDirectory, not both");
        }

        foreach (var key in CurveAllowedKeys.Where(k => !IsKey(k)))
        {
            problems.Add($"allowed CURVE key '{key}' is not a 40-character Z85 key");
        }

        if (CurveAllowDirectory is not null && !Directory.Exists(CurveAllowDirectory))
        {
            problems.Add($"CurveAllowDirectory '{CurveAllowDirectory}' does not exist");
        }

        foreach (var (user, _) in PlainUsers.Where(u => u.Key.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(u.Key) > 255 || System.Text.Encoding.UTF8.GetByteCount(u.Value) > 255))
        {
            problems.Add($"PLAIN user '{user}': name must be 1..255 bytes and password at most 255 bytes");
        }

        CheckAuth(problems, "ClientAuth", ClientAuth);
        CheckAuth(problems, "WorkerAuth", WorkerAuth);
        if (AuthorizedWorkers.Count > 0 && WorkerAuth == BrokerPeerAuth.None)
        {
            problems.Add("AuthorizedWorkers needs WorkerAuth plain or curve");
        }

        if (WorkerAuth == BrokerPeerAuth.Curve)
        {
            foreach (var key in AuthorizedWorkers.Where(k => !IsKey(k)))
            {
                problems.Add($"authorized worker '{key}' is not a 40-character Z85 CURVE key");
            }
        }

        return problems;
    }

    /// <summary>The socket options of the broker's ROUTER for these settings, on top of <paramref name="socket"/>.</summary>
    internal SocketOptions Apply(SocketOptions socket)
    {
        switch (Mechanism)
        {
            case SecurityMechanism.Curve:
                var authenticator = new Authenticator();
                if (CurveAllowedKeys.Count == 0 && CurveAllowDirectory is null)
                {
                    authenticator.AllowAnyCurveKey = true;
                }

                foreach (var key in CurveAllowedKeys.Concat(WorkerAuth == BrokerPeerAuth.Curve ? AuthorizedWorkers : []))
                {
                    authenticator.AllowCurveKey(key);
                }

                if (CurveAllowDirectory is not null)
                {
                    authenticator.AllowCurveDirectory(CurveAllowDirectory);
                }

                return socket with { CurveServer = true, CurveSecretKey = CurveSecretKey, Authenticator = authenticator };
            case SecurityMechanism.Plain:
                var users = new Authenticator();
                foreach (var (user, password) in PlainUsers)
                {
                    users.AddPlainUser(user, password);
                }

                return socket with { Plain = new PlainOptions(), Authenticator = users };
            default:
                return socket;
        }
    }

    /// <summary>Null when a client whose messages carry <paramref name="userId"/> may send requests; otherwise why not.</summary>
    internal string? ClientRefusal(string? userId) =>
        ClientAuth != BrokerPeerAuth.None && userId is null ? $"client not authenticated with {Name(ClientAuth)}" : null;

    /// <summary>Null when a worker whose READY carries <paramref name="userId"/> may register; otherwise why not.</summary>
    internal string? WorkerRefusal(string? userId)
    {
        if (WorkerAuth == BrokerPeerAuth.None)
        {
            return null;
        }

        if (userId is null)
        {
            return $"worker not authenticated with {Name(WorkerAuth)}";
        }

        return AuthorizedWorkers.Count > 0 && !AuthorizedWorkers.Contains(userId, StringComparer.Ordinal)
            ? $"user id {userId} is not an authorised worker"
            : null;
    }

    private void CheckAuth(List<string> problems, string name, BrokerPeerAuth required)
    {
        if (required == BrokerPeerAuth.None || (required == BrokerPeerAuth.Plain && Mechanism == SecurityMechanism.Plain) || (required == BrokerPeerAuth.Curve && Mechanism == SecurityMechanism.Curve))
        {
            return;
        }

        if (!Enum.IsDefined(required))
        {
            problems.Add($"{name} must be none, plain or curve");
            return;
        }

        problems.Add(required == BrokerPeerAuth.Curve
            ? $"{name} curve needs CurveSecretKey (the broker's socket speaks {Name(Mechanism)})"
            : $"{name} plain needs PlainUsers (the broker's socket speaks {Name(Mechanism)})");
    }

    private static string Name(BrokerPeerAuth auth) => auth.ToString().ToUpperInvariant();

    private static string Name(SecurityMechanism mechanism) => mechanism.ToString().ToUpperInvariant();

    private static bool IsKey(string key) => key.Length == CurveKeyPair.KeyTextLength && Z85.TryDecode(key, out _);
}
