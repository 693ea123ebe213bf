using System.Buffers.Binary;

namespace Reliability.Transport.Curve;

/// <summary>The client's long-term public key, proven by its vouch, and the properties it sent in INITIATE.</summary>
internal sealed record CurveInitiate(byte[] ClientPublicKey, byte[] Metadata);

/// <summary>
/// The binding side of a CURVE handshake (docs/wire/curve.md §3): <see cref="ProcessHello"/> gives WELCOME,
/// <see cref="ProcessInitiate"/> authenticates the client (the caller may then refuse it with ERROR), and
/// <see cref="CreateReady"/> completes it. The cookie key is fresh for each connection and wiped once INITIATE
/// has been checked, so a cookie can never be replayed on another connection.
/// </summary>
internal sealed class CurveServer : CurveMechanism
{
    public const int MinimumInitiateLength = 9 + 96 + 8 + Sodium.MacBytes + 128;

    private readonly byte[] _publicKey;
    private readonly SecretBuffer _secretKey;
    private readonly byte[] _metadata;
    private readonly byte[] _clientTransient = new byte[Sodium.KeyBytes];
    private readonly byte[] _transientPublic = new byte[Sodium.KeyBytes];
    private readonly SecretBuffer _transientSecret;
    private readonly SecretBuffer _cookieKey;
    private Step _step = Step.Hello;

    /// <param name="publicKey">Our long-term public key S.</param>
    /// <param name="secretKey">Our long-term secret key s (copied; the copy is wiped once WELCOME is made).</param>
    /// <param name="metadata">Our properties for READY, already encoded.</param>
    public CurveServer(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey, byte[] metadata)
        : base(isClient: false)
    {
        RequireKey(publicKey, nameof(publicKey));
        RequireKey(secretKey, nameof(secretKey));
        _publicKey = publicKey.ToArray();
        _secretKey = NewSecret(secretKey);
        _metadata = metadata;
        _transientSecret = NewSecret();
        _cookieKey = NewSecret();
    }

    private enum Step
    {
        Hello,
        Initiate,
        Ready,
        Done,
    }

    /// <summary>Checks HELLO's signature box (only a client that knows S can make it) and returns WELCOME.</summary>
    public byte[] ProcessHello(ReadOnlySpan<byte> hello)
    {
        Advance(ref _step, Step.Hello, Step.Initiate);
        ExpectCommand(hello, HelloName);
        if (hello.Length != CurveClient.HelloLength)
        {
            throw Malformed($"HELLO of {hello.Length} octets (expected {CurveClient.HelloLength})");
        }

        if (hello[6] != 1 || hello[7] != 0)
        {
            throw Malformed($"HELLO version {hello[6]}.{hello[7]} (only 1.0 exists)");
        }

        hello.Slice(80, 32).CopyTo(_clientTransient);
        ulong shortNonce = CheckPeerNonce(hello.Slice(112, 8));
        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        FillNonce(nonce, "CurveZMQHELLO---"u8, shortNonce);
        Span<byte> signature = stackalloc byte[64];
        if (!Sodium.TryOpen(signature, hello.Slice(120, 80), nonce, _clientTransient, _secretKey.Span))
        {
            throw Cryptographic("HELLO box did not open (the client has a wrong server key)");
        }

        AcceptPeerNonce(shortNonce);
        byte[] welcome = BuildWelcome();

        // s is needed for HELLO and WELCOME only; everything after uses the transient keys.
        _secretKey.Dispose();
        return welcome;
    }

    /// <summary>Checks the cookie, the INITIATE box and the vouch; returns who the client is and what it sent.</summary>
    public CurveInitiate ProcessInitiate(ReadOnlySpan<byte> initiate)
    {
        Advance(ref _step, Step.Initiate, Step.Ready);
        ExpectCommand(initiate, InitiateName);
        if (initiate.Length < MinimumInitiateLength)
        {
            throw Malformed($"INITIATE of {initiate.Length} octets (at least {MinimumInitiateLength})");
        }

        CheckCookie(initiate.Slice(9, 96));

        byte[] plain = OpenFromPeer(initiate, 105, "CurveZMQINITIATE"u8, "INITIATE");
        byte[] clientKey = plain[..32];
        CheckVouch(clientKey, plain.AsSpan(32, 16), plain.AsSpan(48, 80));
        _transientSecret.Dispose();
        return new CurveInitiate(clientKey, plain[128..]);
    }

    /// <summary>READY: Box[metadata](S'->C'); after it, MESSAGE boxing starts.</summary>
    public byte[] CreateReady()
    {
        Advance(ref _step, Step.Ready, Step.Done);
        var ready = new byte[6 + 8 + Sodium.MacBytes + _metadata.Length];
        ReadyName.CopyTo(ready);
        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        ulong shortNonce = NextShortNonce(nonce, "CurveZMQREADY---"u8);
        BinaryPrimitives.WriteUInt64BigEndian(ready.AsSpan(6), shortNonce);
        Sodium.BoxPrecomputed(ready.AsSpan(14), _metadata, nonce, ConnectionKey.Span);
        IsReady = true;
        return ready;
    }

    private byte[] BuildWelcome()
    {
        Sodium.GenerateKeyPair(_transientPublic, _transientSecret.Span);
        if (!Sodium.TryPrecompute(ConnectionKey.Span, _clientTransient, _transientSecret.Span))
        {
            // Unreachable for a key whose HELLO box opened, but a refusal beats an unusable connection key.
            throw Cryptographic("the client's transient key is not a usable point");
        }

        Sodium.Random(_cookieKey.Span);

        // plaintext = S'(32) cookie-nonce(16) cookie-box(80), where the cookie box is SecretBox[C' + s'](K).
        using var plain = new SecretBuffer(128);
        _transientPublic.CopyTo(plain.Span);
        var cookieLongNonce = plain.Span.Slice(32, 16);
        Sodium.Random(cookieLongNonce);
        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        FillLongNonce(nonce, "COOKIE--"u8, cookieLongNonce);
        using (var cookie = new SecretBuffer(64))
        {
            _clientTransient.CopyTo(cookie.Span);
            _transientSecret.Span.CopyTo(cookie.Span[32..]);
            Sodium.SecretBox(plain.Span.Slice(48, 80), cookie.Span, nonce, _cookieKey.Span);
        }

        var welcome = new byte[CurveClient.WelcomeLength];
        WelcomeName.CopyTo(welcome);
        Span<byte> welcomeLongNonce = welcome.AsSpan(8, 16);
        Sodium.Random(welcomeLongNonce);
        FillLongNonce(nonce, "WELCOME-"u8, welcomeLongNonce);
        Sodium.Box(welcome.AsSpan(24), plain.Span, nonce, _clientTransient, _secretKey.Span);
        return welcome;
    }

    private void CheckCookie(ReadOnlySpan<byte> cookie)
    {
        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        FillLongNonce(nonce, "COOKIE--"u8, cookie[..16]);
        using var plain = new SecretBuffer(64);
        if (!Sodium.TryOpenSecretBox(plain.Span, cookie[16..], nonce, _cookieKey.Span))
        {
            throw Cryptographic("INITIATE cookie did not open");
        }

        // The cookie must name this connection's keys: C' and s'.
        if (!Sodium.FixedTimeEquals(plain.Span[..32], _clientTransient) || !Sodium.FixedTimeEquals(plain.Span[32..], _transientSecret.Span))
        {
            throw Cryptographic("INITIATE cookie is not this connection's");
        }

        _cookieKey.Dispose();
    }

    private void CheckVouch(ReadOnlySpan<byte> clientKey, ReadOnlySpan<byte> vouchLongNonce, ReadOnlySpan<byte> vouchBox)
    {
        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        FillLongNonce(nonce, "VOUCH---"u8, vouchLongNonce);
        Span<byte> vouch = stackalloc byte[64];
        if (!Sodium.TryOpen(vouch, vouchBox, nonce, clientKey, _transientSecret.Span))
        {
            throw Cryptographic("INITIATE vouch did not open (the client does not hold the key it claims)");
        }

        // The vouch binds C to this connection's C' and to us (S), so it cannot be replayed elsewhere.
        if (!Sodium.FixedTimeEquals(vouch[..32], _clientTransient) || !Sodium.FixedTimeEquals(vouch[32..], _publicKey))
        {
            throw Cryptographic("INITIATE vouch names other keys");
        }
    }
}
