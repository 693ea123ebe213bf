using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// curve-keygen: prints a fresh CURVE key pair in Z85 (docs/wire/curve.md §5), one per line, as
/// <c>public: &lt;40 characters&gt;</c> and <c>secret: &lt;40 characters&gt;</c>. Give the public key to peers
/// (a server's goes to its clients as their server key); keep the secret one private. Takes no options.
/// </summary>
internal static class CurveKeygenExample
{
    public static Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        arguments.EnsureAllUsed();
        var pair = CurveKeyPair.Generate();
        Console.WriteLine($"public: {pair.PublicKey}");
        Console.WriteLine($"secret: {pair.SecretKey}");
        return Task.FromResult(0);
    }
}
