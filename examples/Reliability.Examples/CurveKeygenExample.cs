using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// curve-keygen: prints a fresh CURVE key pair in Z85 (docs/wire/curve.md §5), one per line, as
/// <c>public: &lt;40 characters&gt;</c> and <c>secret: &lt;40 characters&gt;</c>. Give the public key to peers
/// (a server's goes to its clients as their server key); keep the secret one private. With
/// <c>--cert PATH</c> it also writes the pair as czmq certificate files (docs/security.md §2): the public one at
/// PATH (for a broker's <c>--curve-allow-dir</c>) and the secret one at PATH_secret (for <c>--curve-secret-file</c>).
/// </summary>
internal static class CurveKeygenExample
{
    public static Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        string certificatePath = arguments.String("cert", string.Empty);
        arguments.EnsureAllUsed();
        var pair = CurveKeyPair.Generate();
        Console.WriteLine($"public: {pair.PublicKey}");
        Console.WriteLine($"secret: {pair.SecretKey}");
        if (certificatePath.Length > 0)
        {
            new CurveCertificate(pair.PublicKey, pair.SecretKey).Save(certificatePath);
        }

        return Task.FromResult(0);
    }
}
