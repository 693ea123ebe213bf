using Reliability.Transport.Curve;

namespace Reliability.Transport.Tests.Curve;

/// <summary>A fresh raw (32-octet) CURVE key pair for a test.</summary>
internal sealed class Keys
{
    public Keys()
    {
        Sodium.GenerateKeyPair(Public, Secret);
    }

    public byte[] Public { get; } = new byte[32];

    public byte[] Secret { get; } = new byte[32];
}
