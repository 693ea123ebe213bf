using System.Buffers.Binary;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Curve;

/// <summary>One decrypted MESSAGE: the frame and the ZMTP flags carried inside the box.</summary>
internal readonly record struct CurveFrame(ReadOnlyMemory<byte> Payload, bool More, bool Command);

/// <summary>
/// What the CURVE client and server share (docs/wire/curve.md §3-§4): the short-nonce counters of one
/// connection, the precomputed connection key (C' with s', or S' with c'), and MESSAGE boxing once the
/// handshake is done. Sans-IO: command bodies in, command bodies out; a bad command throws
/// <see cref="ProtocolException"/> and the connection must then be closed. After the handshake one
/// sender may call <see cref="Encode"/> while one receiver calls <see cref="Decode"/>: they share only the
/// read-only connection key.
/// </summary>
internal abstract class CurveMechanism : IDisposable
{
    /// <summary>MESSAGE = name(8) short-nonce(8) box(MAC 16 + flags 1 + payload).</summary>
    public const int MessageOverhead = 8 + 8 + Sodium.MacBytes + 1;

    private const byte MoreFlag = 0x01;
    private const byte CommandFlag = 0x02;

    private readonly List<SecretBuffer> _secrets = [];
    private readonly byte[] _sendPrefix;
    private readonly byte[] _receivePrefix;
    private ulong _nextNonce = 1;
    private ulong _peerNonce;

    protected CurveMechanism(bool isClient)
    {
        Sodium.EnsureInitialized();
        _sendPrefix = isClient ? "CurveZMQMESSAGEC"u8.ToArray() : "CurveZMQMESSAGES"u8.ToArray();
        _receivePrefix = isClient ? "CurveZMQMESSAGES"u8.ToArray() : "CurveZMQMESSAGEC"u8.ToArray();
        ConnectionKey = NewSecret();
    }

    /// <summary>True once the handshake is complete and MESSAGE commands may flow.</summary>
    public bool IsReady { get; protected set; }

    /// <summary>True when every secret this connection held is wiped (after <see cref="Dispose"/>).</summary>
    internal bool SecretsZeroed => _secrets.TrueForAll(secret => secret.IsZeroed);

    /// <summary>The precomputed key of the two transient keys; every box after WELCOME uses it.</summary>
    protected SecretBuffer ConnectionKey { get; }

    // Command names with their length octet, as they open a command body.
    protected static ReadOnlySpan<byte> HelloName => "\u0005HELLO"u8;

    protected static ReadOnlySpan<byte> WelcomeName => "\u0007WELCOME"u8;

    protected static ReadOnlySpan<byte> InitiateName => "\u0008INITIATE"u8;

    protected static ReadOnlySpan<byte> ReadyName => "\u0005READY"u8;

    protected static ReadOnlySpan<byte> MessageName => "\u0007MESSAGE"u8;

    /// <summary>The MESSAGE command body that carries <paramref name="payload"/> (one ZMTP frame).</summary>
    public byte[] Encode(ReadOnlySpan<byte> payload, bool more, bool command)
    {
        RequireReady();
        var body = new byte[MessageOverhead + payload.Length];
        MessageName.CopyTo(body);
        var plain = body.AsSpan(16, 1 + payload.Length);
        plain[0] = (byte)((more ? MoreFlag : 0) | (command ? CommandFlag : 0));
        payload.CopyTo(plain[1..]);

        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        ulong shortNonce = NextShortNonce(nonce, _sendPrefix);
        BinaryPrimitives.WriteUInt64BigEndian(body.AsSpan(8), shortNonce);

        // In place: libsodium moves the plaintext up by the MAC's 16 octets itself.
        Sodium.BoxPrecomputed(body.AsSpan(16), body.AsSpan(16, plain.Length), nonce, ConnectionKey.Span);
        return body;
    }

    /// <summary>Opens a MESSAGE command body; throws when it is malformed, replayed or altered.</summary>
    public CurveFrame Decode(ReadOnlySpan<byte> body)
    {
        RequireReady();
        ExpectCommand(body, MessageName);
        if (body.Length < MessageOverhead)
        {
            throw Malformed($"MESSAGE of {body.Length} octets (at least {MessageOverhead})");
        }

        byte[] plain = OpenFromPeer(body, 8, _receivePrefix, "MESSAGE");
        byte flags = plain[0];
        return new CurveFrame(plain.AsMemory(1), (flags & MoreFlag) != 0, (flags & CommandFlag) != 0);
    }

    /// <summary>Wipes every key this connection held.</summary>
    public void Dispose()
    {
        foreach (var secret in _secrets)
        {
            secret.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>A wiped-on-dispose buffer for a key of this connection.</summary>
    protected SecretBuffer NewSecret(ReadOnlySpan<byte> copyOf = default)
    {
        var secret = copyOf.IsEmpty ? new SecretBuffer() : SecretBuffer.CopyOf(copyOf);
        _secrets.Add(secret);
        return secret;
    }

    /// <summary>Takes the next short nonce (strictly increasing, never reused) and writes prefix + nonce into <paramref name="nonce"/>.</summary>
    protected ulong NextShortNonce(Span<byte> nonce, ReadOnlySpan<byte> prefix)
    {
        if (_nextNonce == ulong.MaxValue)
        {
            // 2^64-1 commands on one connection: stop rather than reuse a nonce.
            throw Cryptographic("short nonces exhausted on this connection");
        }

        ulong value = _nextNonce++;
        FillNonce(nonce, prefix, value);
        return value;
    }

    /// <summary>Reads a peer's short nonce and rejects it unless it is above every nonce accepted before (a replay or reorder).</summary>
    protected ulong CheckPeerNonce(ReadOnlySpan<byte> shortNonce)
    {
        ulong value = BinaryPrimitives.ReadUInt64BigEndian(shortNonce);
        if (value <= _peerNonce)
        {
            throw Cryptographic($"short nonce {value} not above {_peerNonce} (replayed or reordered)");
        }

        return value;
    }

    /// <summary>Records a peer nonce once the box it came with has opened.</summary>
    protected void AcceptPeerNonce(ulong value) => _peerNonce = value;

    /// <summary>
    /// Opens the box that follows the short nonce at <paramref name="nonceOffset"/> with the connection key
    /// (INITIATE, READY, MESSAGE). The nonce must be new; it is recorded only once the box has opened, so a
    /// forged command cannot block the genuine one that follows.
    /// </summary>
    protected byte[] OpenFromPeer(ReadOnlySpan<byte> command, int nonceOffset, ReadOnlySpan<byte> prefix, string what)
    {
        ulong shortNonce = CheckPeerNonce(command.Slice(nonceOffset, 8));
        Span<byte> nonce = stackalloc byte[Sodium.NonceBytes];
        FillNonce(nonce, prefix, shortNonce);
        var boxStart = nonceOffset + 8;
        var plain = new byte[command.Length - boxStart - Sodium.MacBytes];
        if (!Sodium.TryOpenPrecomputed(plain, command[boxStart..], nonce, ConnectionKey.Span))
        {
            throw Cryptographic($"{what} box did not open");
        }

        AcceptPeerNonce(shortNonce);
        return plain;
    }

    /// <summary>Full 24-octet nonce: a 16-octet prefix then the 8-octet short nonce, big-endian.</summary>
    protected static void FillNonce(Span<byte> nonce, ReadOnlySpan<byte> prefix, ulong shortNonce)
    {
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteUInt64BigEndian(nonce[16..], shortNonce);
    }

    /// <summary>Full nonce: an 8-octet prefix then 16 octets (random, or as received).</summary>
    protected static void FillLongNonce(Span<byte> nonce, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> longNonce)
    {
        prefix.CopyTo(nonce);
        longNonce.CopyTo(nonce[8..]);
    }

    /// <summary>Checks that <paramref name="body"/> starts with <paramref name="name"/> (length octet included); an ERROR becomes the peer's refusal.</summary>
    protected static void ExpectCommand(ReadOnlySpan<byte> body, ReadOnlySpan<byte> name)
    {
        if (body.StartsWith(name))
        {
            return;
        }

        if (body.Length > 0 && body[0] == Commands.ErrorName.Length && body[1..].StartsWith(Commands.ErrorName))
        {
            string reason = Commands.ParseErrorReason(body[(1 + Commands.ErrorName.Length)..]);
            throw new ProtocolException(ProtocolError.PeerError, $"CURVE peer sent ERROR '{reason}'");
        }

        throw Malformed($"expected {System.Text.Encoding.ASCII.GetString(name[1..])}, got {DescribeCommand(body)}");
    }

    /// <summary>Moves a handshake from <paramref name="expected"/> to <paramref name="next"/>; a call out of order is a bug in the caller.</summary>
    protected static void Advance<TStep>(ref TStep step, TStep expected, TStep next)
        where TStep : struct, Enum
    {
        if (!EqualityComparer<TStep>.Default.Equals(step, expected))
        {
            throw new InvalidOperationException($"CURVE handshake is at step {step}, not {expected}.");
        }

        step = next;
    }

    protected static void RequireKey(ReadOnlySpan<byte> key, string name)
    {
        if (key.Length != Sodium.KeyBytes)
        {
            throw new ArgumentException($"A CURVE key is {Sodium.KeyBytes} octets, not {key.Length}.", name);
        }
    }

    protected static ProtocolException Malformed(string detail) =>
        new(ProtocolError.MalformedCommand, $"CURVE: {detail}");

    protected static ProtocolException Cryptographic(string detail) =>
        new(ProtocolError.CryptographicFailure, $"CURVE: {detail}");

    private void RequireReady()
    {
        if (!IsReady)
        {
            throw new InvalidOperationException("CURVE handshake is not complete.");
        }
    }

    private static string DescribeCommand(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty || body.Length < 1 + body[0])
        {
            return $"{body.Length} octets without a command name";
        }

        return $"'{System.Text.Encoding.ASCII.GetString(body.Slice(1, body[0]))}'";
    }
}
