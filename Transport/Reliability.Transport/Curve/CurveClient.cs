namespace Reliability.Transport.Curve;

/// <summary>
/// The connecting side of a CURVE handshake (docs/wire/curve.md §3): <see cref="CreateHello"/>, then
/// <see cref="ProcessWelcome"/> gives INITIATE, then <see cref="ProcessReady"/> gives the server's metadata
/// and MESSAGE boxing starts. Each call throws <see cref="ProtocolException"/> on a bad or refused command.
/// </summary>
internal sealed class CurveClient : CurveMechanism
{
    public const int HelloLength = 200;
    public const int WelcomeLength = 168;

    private readonly byte[] _serverKey;
    private readonly byte[] _publicKey;
    private readonly SecretBuffer _secretKey;
    private readonly byte[] _transientPublic = new byte[Sodium.KeyBytes];
    private readonly SecretBuffer _transientSecret;
    private readonly byte[] _metadata;
    private Step _step = Step.Hello;

    /// <param name="serverKey">The server's long-term public key S, known in advance.</param>
    /// <param name="publicKey">Our long-term public key C.</param>
    /// <param name="secretKey">Our long-term secret key c (copied; the copy is wiped once INITIATE is made).</param>
    /// <param name="metadata">Our properties for INITIATE (Socket-Type, Identity), already encoded.</param>
    public CurveClient(ReadOnlySpan<byte> serverKey, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey, byte[] metadata)
        : base(isClient: true)
    {
        RequireKey(serverKey, nameof(serverKey));
        RequireKey(publicKey, nameof(publicKey));
        _serverKey = serverKey.ToArray();
        _publicKey = publicKey.ToArray();
        RequireKey(secretKey, nameof(secretKey));
        _secretKey = NewSecret(secretKey);
        _metadata = metadata;
        _transientSecret = NewSecret();
        Sodium.GenerateKeyPair(_transientPublic, _transientSecret.Span);
    }

    private enum Step
    {
        Hello,
        Welcome,
        Ready,
        Done,
    }

    /// <summary>HELLO: version 1.0, 72 octets of anti-amplification padding, C', short nonce, Box[64 zeros](C'->S).</summary>
    public byte[] CreateHello()
    {
        Advance(ref _step, Step.Hello, Step.Welcome);
        var hello = new byte[HelloLength];
        HelloName.CopyTo(hello);
        hello[6] = 1;
        hello[7] = 0;
        _transientPublic.CopyTo(hello, 80);

        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        ulong shortNonce = NextShortNonce(nonce, "CurveZMQHELLO---"u8);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(hello.AsSpan(112), shortNonce);

        // The 64 zeros prove we hold c' for C' and that we know S; only S's owner can open them.
        Sodium.Box(hello.AsSpan(120, 80), stackalloc byte[64], nonce, _serverKey, _transientSecret.Span);
        return hello;
    }

    /// <summary>Opens WELCOME (Box[S' + cookie](S->C')) and returns INITIATE; fails when the server is not the owner of S.</summary>
    public byte[] ProcessWelcome(ReadOnlySpan<byte> welcome)
    {
        Advance(ref _step, Step.Welcome, Step.Ready);
        ExpectCommand(welcome, WelcomeName);
        if (welcome.Length != WelcomeLength)
        {
            throw Malformed($"WELCOME of {welcome.Length} octets (expected {WelcomeLength})");
        }

        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        FillLongNonce(nonce, "WELCOME-"u8, welcome.Slice(8, 16));
        using var plain = new SecretBuffer(128);
        if (!Sodium.TryOpen(plain.Span, welcome[24..], nonce, _serverKey, _transientSecret.Span))
        {
            throw Cryptographic("WELCOME box did not open (wrong server key?)");
        }

        var serverTransient = plain.Span[..32];
        var cookie = plain.Span.Slice(32, 96);
        if (!Sodium.TryPrecompute(ConnectionKey.Span, serverTransient, _transientSecret.Span))
        {
            throw Cryptographic("the server's transient key is not a usable point");
        }

        byte[] initiate = BuildInitiate(serverTransient, cookie);

        // Neither long-term nor transient secret is needed again: the connection key does the rest.
        _transientSecret.Dispose();
        _secretKey.Dispose();
        return initiate;
    }

    /// <summary>Opens READY (Box[metadata](S'->C')) and returns the server's encoded properties.</summary>
    public byte[] ProcessReady(ReadOnlySpan<byte> ready)
    {
        Advance(ref _step, Step.Ready, Step.Done);
        ExpectCommand(ready, ReadyName);
        if (ready.Length < 6 + 8 + Sodium.MacBytes)
        {
            throw Malformed($"READY of {ready.Length} octets");
        }

        byte[] metadata = OpenFromPeer(ready, 6, "CurveZMQREADY---"u8, "READY");
        IsReady = true;
        return metadata;
    }

    private byte[] BuildInitiate(ReadOnlySpan<byte> serverTransient, ReadOnlySpan<byte> cookie)
    {
        // plaintext = C(32) vouch-nonce(16) vouch-box(80) metadata
        var plain = new byte[128 + _metadata.Length];
        _publicKey.CopyTo(plain, 0);
        Span<byte> vouchLongNonce = plain.AsSpan(32, 16);
        Sodium.Random(vouchLongNonce);
        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        FillLongNonce(nonce, "VOUCH---"u8, vouchLongNonce);

        // The vouch, Box[C' + S](C->S'), binds our long-term key to this connection's transient key.
        Span<byte> vouch = stackalloc byte[64];
        _transientPublic.CopyTo(vouch);
        _serverKey.CopyTo(vouch[32..]);
        Sodium.Box(plain.AsSpan(48, 80), vouch, nonce, serverTransient, _secretKey.Span);
        _metadata.CopyTo(plain, 128);

        var initiate = new byte[9 + 96 + 8 + Sodium.MacBytes + plain.Length];
        InitiateName.CopyTo(initiate);
        cookie.CopyTo(initiate.AsSpan(9));
        ulong shortNonce = NextShortNonce(nonce, "CurveZMQINITIATE"u8);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(initiate.AsSpan(105), shortNonce);
        Sodium.BoxPrecomputed(initiate.AsSpan(113), plain, nonce, ConnectionKey.Span);
        return initiate;
    }
}
