using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>
/// CURVE for the thr/lat workloads (benchmarks/curve.sh): the binding side is the CURVE server with
/// the secret key it was given; the connecting side is a client that knows the server's public key
/// and, as libzmq's perf tools would, uses a fresh key pair of its own. zmqperf.c takes the same options.
/// </summary>
internal sealed record CurveSetup(string? ServerSecretKey, string? ServerPublicKey)
{
    public const string SecretKeyOption = "--curve-secret-key";
    public const string ServerKeyOption = "--curve-server-key";

    /// <summary>NULL security, the default.</summary>
    public static readonly CurveSetup None = new(null, null);

    public bool Enabled => ServerSecretKey is not null || ServerPublicKey is not null;

    public bool IsServer => ServerSecretKey is not null;

    /// <summary>Parses one CURVE option and its Z85 key (40 characters); false for anything else.</summary>
    public static bool TryParseOption(string option, string key, out CurveSetup setup)
    {
        setup = None;
        if (key.Length != CurveKeyPair.KeyTextLength)
        {
            return false;
        }

        setup = option switch
        {
            SecretKeyOption => new CurveSetup(key, null),
            ServerKeyOption => new CurveSetup(null, key),
            _ => None,
        };
        return setup.Enabled;
    }

    /// <summary>A whole pair for the warm-up: a fresh server key pair, so both ends of a private pair agree.</summary>
    public static (CurveSetup Server, CurveSetup Client) NewPair()
    {
        var pair = CurveKeyPair.Generate();
        return (new CurveSetup(pair.SecretKey, null), new CurveSetup(null, pair.PublicKey));
    }

    /// <summary>The options for this side's socket, <paramref name="options"/> plus the CURVE settings.</summary>
    public SocketOptions Apply(SocketOptions options)
    {
        if (ServerSecretKey is not null)
        {
            return options with { CurveServer = true, CurveSecretKey = ServerSecretKey };
        }

        if (ServerPublicKey is not null)
        {
            return options with { CurveSecretKey = CurveKeyPair.Generate().SecretKey, CurveServerKey = ServerPublicKey };
        }

        return options;
    }
}
