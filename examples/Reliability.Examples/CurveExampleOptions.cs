using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// The CURVE options the example programs share (docs/security.md): a server takes <c>--curve-secret-key Z85</c>;
/// a client takes <c>--curve-server-key Z85</c> and optionally <c>--curve-secret-key Z85</c> (its own long-term
/// key; without it a fresh key pair is made for the run). Keys come from <c>curve-keygen</c>.
/// </summary>
internal static class CurveExampleOptions
{
    /// <summary><paramref name="socket"/> as a CURVE server when <c>--curve-secret-key</c> is given; unchanged otherwise.</summary>
    public static SocketOptions Server(ExampleArguments arguments, SocketOptions socket)
    {
        string secret = arguments.String("curve-secret-key", string.Empty);
        return secret.Length == 0 ? socket : socket with { CurveServer = true, CurveSecretKey = Key(secret, "curve-secret-key") };
    }

    /// <summary><paramref name="socket"/> as a CURVE client when <c>--curve-server-key</c> is given; unchanged otherwise.</summary>
    public static SocketOptions Client(ExampleArguments arguments, SocketOptions socket)
    {
        string server = arguments.String("curve-server-key", string.Empty);
        string secret = arguments.String("curve-secret-key", string.Empty);
        if (server.Length == 0)
        {
            return secret.Length == 0 ? socket : throw new ExampleUsageException("--curve-secret-key needs --curve-server-key (the server's public key)");
        }

        // Ephemeral unless given: the server learns a key it has never seen, which is enough when it allows any.
        string own = secret.Length == 0 ? CurveKeyPair.Generate().SecretKey : Key(secret, "curve-secret-key");
        return socket with { CurveSecretKey = own, CurveServerKey = Key(server, "curve-server-key") };
    }

    private static string Key(string text, string option) =>
        text.Length == CurveKeyPair.KeyTextLength && Z85.TryDecode(text, out _)
            ? text
            : throw new ExampleUsageException($"--{option} must be a CURVE key: {CurveKeyPair.KeyTextLength} Z85 characters, as curve-keygen prints");
}
