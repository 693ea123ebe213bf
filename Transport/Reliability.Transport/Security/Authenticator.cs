using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Reliability.Transport;

/// <summary>
/// Decides which peers a server socket accepts, for NULL, PLAIN and CURVE alike (the role of libzmq's
/// ZAP handler, RFC 27, without the inproc round trip); set it as <see cref="SocketOptions.Authenticator"/>.
/// Rules, in order (docs/security.md):
/// <list type="number">
/// <item>A tcp peer whose IP address was denied (<see cref="DenyAddress"/>) is refused; when any address
/// was allowed (<see cref="AllowAddress"/>), every other tcp peer is refused. ipc peers are local and pass.</item>
/// <item>PLAIN: the user must have been added with that password (compared in constant time).
/// CURVE: the client's key must be allowed (<see cref="AllowCurveKey"/>, a file in the
/// <see cref="AllowCurveDirectory">allowed directory</see>, or <see cref="AllowAnyCurveKey"/>).
/// A mechanism with nothing configured refuses everyone, unless a <see cref="Hook"/> is set, which then decides alone.
/// NULL has no credentials: the address rules and the hook decide.</item>
/// <item>The <see cref="Hook"/>, when set, is asked last and may still refuse.</item>
/// </list>
/// Every method is thread-safe and may be called while sockets use the authenticator.
/// </summary>
public sealed class Authenticator
{
    private readonly ConcurrentDictionary<IPAddress, bool> _addresses = new();
    private readonly ConcurrentDictionary<string, byte[]> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _curveKeys = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly object _directoryGate = new();
    private string? _directory;
    private HashSet<string> _directoryKeys = new(StringComparer.Ordinal);
    private long _directoryReadAt;
    private string _directoryStamp = string.Empty;
    private long _accepted;
    private long _refused;

    /// <summary>Creates an authenticator that refuses PLAIN and CURVE peers until users or keys are added.</summary>
    /// <param name="timeProvider">Clock for <see cref="DirectoryCheckInterval"/> (default the system clock).</param>
    public Authenticator(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>CURVE: accept any client key (encryption without a list of clients). Default false.</summary>
    public bool AllowAnyCurveKey { get; set; }

    /// <summary>
    /// A check of your own, asked last for every request the rules above let through (and alone for a
    /// mechanism with nothing configured); false refuses. A hook that throws refuses the peer. It runs on
    /// the connection's I/O thread during the handshake: keep it short.
    /// </summary>
    public Func<AuthenticationRequest, bool>? Hook { get; set; }

    /// <summary>How often, at most, the allowed-key directory is looked at for changes (default 1 s).</summary>
    public TimeSpan DirectoryCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Peers accepted so far.</summary>
    public long AcceptedCount => Interlocked.Read(ref _accepted);

    /// <summary>Peers refused so far (each is also logged and raised as <see cref="SocketEventKind.HandshakeFailed"/> by its socket).</summary>
    public long RefusedCount => Interlocked.Read(ref _refused);

    /// <summary>Accepts tcp peers from <paramref name="ipAddress"/>; once one address is allowed, all others are refused.</summary>
    /// <exception cref="FormatException">Not an IP address.</exception>
    public void AllowAddress(string ipAddress) => _addresses[ParseAddress(ipAddress)] = true;

    /// <summary>Refuses tcp peers from <paramref name="ipAddress"/> (checked before the allowed addresses).</summary>
    /// <exception cref="FormatException">Not an IP address.</exception>
    public void DenyAddress(string ipAddress) => _addresses[ParseAddress(ipAddress)] = false;

    /// <summary>Adds (or replaces) a PLAIN user.</summary>
    public void AddPlainUser(string userName, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(password);
        _users[userName] = Encoding.UTF8.GetBytes(password);
    }

    /// <summary>Removes a PLAIN user; true when it existed.</summary>
    public bool RemovePlainUser(string userName) => _users.TryRemove(userName, out _);

    /// <summary>Allows a CURVE client by its public key (Z85, 40 characters).</summary>
    /// <exception cref="FormatException">Not a Z85 CURVE key.</exception>
    public void AllowCurveKey(string publicKey)
    {
        CurveKeyPair.DecodeKey(publicKey, nameof(publicKey));
        _curveKeys[publicKey] = true;
    }

    /// <summary>Withdraws a key given to <see cref="AllowCurveKey"/>; true when it was allowed.</summary>
    public bool RemoveCurveKey(string publicKey) => _curveKeys.TryRemove(publicKey, out _);

    /// <summary>
    /// Allows every CURVE client whose public certificate (czmq <c>zcert</c> format, <see cref="CurveCertificate"/>)
    /// is a file in <paramref name="directory"/>. The directory is read again when its files change, looked at
    /// no more often than <see cref="DirectoryCheckInterval"/>; files that are not certificates are skipped.
    /// Replaces an earlier directory.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public void AllowCurveDirectory(string directory)
    {
        string full = Path.GetFullPath(directory);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"CURVE certificate directory '{directory}' does not exist.");
        }

        lock (_directoryGate)
        {
            _directory = full;
            _directoryStamp = string.Empty;
            ReadDirectory(force: true);
        }
    }

    /// <summary>Decides about one peer and counts the answer. Sockets call it during the handshake; tests and tools may call it directly.</summary>
    public AuthenticationResult Authenticate(AuthenticationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = Decide(request);
        Interlocked.Increment(ref result.Allowed ? ref _accepted : ref _refused);
        return result;
    }

    /// <summary>The address rule alone, checked as soon as a connection is accepted; a refusal is counted.</summary>
    internal AuthenticationResult? RefuseAddress(string peerAddress)
    {
        if (AddressRefusal(peerAddress) is not { } reason)
        {
            return null;
        }

        Interlocked.Increment(ref _refused);
        return new AuthenticationResult(false, null, reason);
    }

    private AuthenticationResult Decide(AuthenticationRequest request)
    {
        if (AddressRefusal(request.PeerAddress) is { } addressRefusal)
        {
            return new AuthenticationResult(false, null, addressRefusal);
        }

        var hook = Hook;
        (bool configured, bool listed, string? userId, string what) = request.Mechanism switch
        {
            SecurityMechanism.Plain => CheckPlain(request),
            SecurityMechanism.Curve => CheckCurve(request),
            _ => (false, false, null, "NULL peer"),
        };

        if (configured && !listed)
        {
            return new AuthenticationResult(false, null, what + " is not allowed");
        }

        if (!configured && hook is null && request.Mechanism != SecurityMechanism.Null)
        {
            return new AuthenticationResult(false, null, what + " refused: no users or keys are configured");
        }

        if (hook is not null && !hook(request))
        {
            return new AuthenticationResult(false, null, what + " refused by the hook");
        }

        return new AuthenticationResult(true, userId, what + " allowed");
    }

    private (bool Configured, bool Listed, string? UserId, string What) CheckPlain(AuthenticationRequest request)
    {
        string user = request.UserName ?? string.Empty;
        string what = $"PLAIN user '{user}'";
        if (_users.IsEmpty)
        {
            return (false, false, user, what);
        }

        // Constant time in the password, so its length or first wrong byte does not show in timing.
        bool listed = _users.TryGetValue(user, out var expected)
            && CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(request.Password ?? string.Empty));
        return (true, listed, user, what);
    }

    private (bool Configured, bool Listed, string? UserId, string What) CheckCurve(AuthenticationRequest request)
    {
        string key = request.CurvePublicKey ?? string.Empty;
        string what = $"CURVE key {key}";
        if (AllowAnyCurveKey)
        {
            return (true, true, key, what);
        }

        bool hasDirectory;
        HashSet<string> fromDirectory;
        lock (_directoryGate)
        {
            hasDirectory = _directory is not null;
            ReadDirectory(force: false);
            fromDirectory = _directoryKeys;
        }

        bool configured = hasDirectory || !_curveKeys.IsEmpty;
        return (configured, _curveKeys.ContainsKey(key) || fromDirectory.Contains(key), key, what);
    }

    /// <summary>Re-reads the directory when it changed (names, sizes, times), at most once per interval. Caller holds the gate.</summary>
    private void ReadDirectory(bool force)
    {
        if (_directory is null || (!force && _time.GetElapsedTime(_directoryReadAt) < DirectoryCheckInterval))
        {
            return;
        }

        _directoryReadAt = _time.GetTimestamp();
        FileInfo[] files;
        try
        {
            files = new DirectoryInfo(_directory).GetFiles();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A directory that vanished allows nobody until it is back.
            _directoryKeys = new HashSet<string>(StringComparer.Ordinal);
            _directoryStamp = string.Empty;
            return;
        }

        string stamp = string.Join('|', files.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}"));
        if (stamp == _directoryStamp)
        {
            return;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (CurveCertificate.TryLoad(file.FullName, out var certificate))
            {
                keys.Add(certificate.PublicKey);
            }
        }

        _directoryKeys = keys;
        _directoryStamp = stamp;
    }

    private string? AddressRefusal(string peerAddress)
    {
        if (_addresses.IsEmpty || PeerIp(peerAddress) is not { } ip)
        {
            return null;
        }

        if (_addresses.TryGetValue(ip, out bool allowed))
        {
            return allowed ? null : $"address {ip} is denied";
        }

        return _addresses.Values.Any(a => a) ? $"address {ip} is not allowed" : null;
    }

    /// <summary>The IP of a <c>tcp://host:port</c> endpoint (IPv4-mapped IPv6 as IPv4); null for ipc and anything else.</summary>
    private static IPAddress? PeerIp(string peerAddress)
    {
        const string Tcp = "tcp://";
        if (!peerAddress.StartsWith(Tcp, StringComparison.Ordinal))
        {
            return null;
        }

        string hostPort = peerAddress[Tcp.Length..];
        int colon = hostPort.LastIndexOf(':');
        string host = (colon > 0 ? hostPort[..colon] : hostPort).Trim('[', ']');
        return IPAddress.TryParse(host, out var ip) ? Normalize(ip) : null;
    }

    private static IPAddress ParseAddress(string ipAddress)
    {
        ArgumentNullException.ThrowIfNull(ipAddress);
        return IPAddress.TryParse(ipAddress.Trim().Trim('[', ']'), out var ip)
            ? Normalize(ip)
            : throw new FormatException($"'{ipAddress}' is not an IP address.");
    }

    private static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
}
