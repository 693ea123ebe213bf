using System.Globalization;
using System.Net;

namespace Reliability.Transport.Internal;

/// <summary>A parsed <c>tcp://host:port</c>, <c>ipc://path</c> or <c>inproc://name</c> endpoint.</summary>
internal sealed record TransportEndpoint(string Original, string Host, int Port, bool IsWildcardHost, string? IpcPath = null, string? InprocName = null)
{
    /// <summary>Whether this is a Unix domain socket endpoint.</summary>
    public bool IsIpc => IpcPath is not null;

    /// <summary>Whether this is an in-process endpoint (no socket, no ZMTP; see <see cref="InprocRegistry"/>).</summary>
    public bool IsInproc => InprocName is not null;

    /// <summary>Parses an endpoint; <paramref name="forBind"/> allows <c>*</c> as host and <c>*</c>/0 as port.</summary>
    /// <exception cref="EndpointException">The endpoint is malformed or uses an unsupported transport.</exception>
    public static TransportEndpoint Parse(string endpoint, bool forBind)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        int schemeEnd = endpoint.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw new EndpointException(endpoint, "expected 'transport://address', e.g. 'tcp://127.0.0.1:5555'");
        }

        string transport = endpoint[..schemeEnd];
        if (transport == "ipc")
        {
            return ParseIpc(endpoint, endpoint[(schemeEnd + 3)..], forBind);
        }

        if (transport == "inproc")
        {
            // Any non-empty name is valid, the same string for bind and connect (libzmq).
            string name = endpoint[(schemeEnd + 3)..];
            return name.Length == 0
                ? throw new EndpointException(endpoint, "inproc needs a name, e.g. 'inproc://workers'")
                : new TransportEndpoint(endpoint, string.Empty, 0, false, InprocName: name);
        }

        if (transport != "tcp")
        {
            throw new EndpointException(endpoint, $"transport '{transport}' is not supported (supported: tcp, ipc, inproc)");
        }

        string address = endpoint[(schemeEnd + 3)..];
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1)
        {
            throw new EndpointException(endpoint, "expected 'host:port'");
        }

        string host = address[..colon];
        string portText = address[(colon + 1)..];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        int port;
        if (portText == "*")
        {
            port = 0;
        }
        else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535)
        {
            throw new EndpointException(endpoint, $"port '{portText}' is not a number in 0..65535");
        }

        bool wildcard = host == "*";
        if (!forBind)
        {
            if (wildcard)
            {
                throw new EndpointException(endpoint, "'*' is only valid for bind; connect needs a host name or address");
            }

            if (port == 0)
            {
                throw new EndpointException(endpoint, "connect needs an explicit port");
            }
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            throw new EndpointException(endpoint, "host is empty or contains whitespace");
        }

        return new TransportEndpoint(endpoint, host, port, wildcard);
    }

    /// <summary><c>ipc://path</c>; <c>ipc://*</c> (bind only) picks a fresh file name, as libzmq does.</summary>
    private static TransportEndpoint ParseIpc(string endpoint, string path, bool forBind)
    {
        if (path == "*")
        {
            if (!forBind)
            {
                throw new EndpointException(endpoint, "'ipc://*' is only valid for bind");
            }

            path = Path.Combine(Path.GetTempPath(), $"reliability-ipc-{Guid.NewGuid():N}");
        }

        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new EndpointException(endpoint, "ipc needs a file path, e.g. 'ipc:///tmp/queue.ipc'");
        }

        // sockaddr_un holds 108 bytes including the terminator on Linux.
        if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
        {
            throw new EndpointException(endpoint, "ipc path longer than 107 bytes");
        }

        return new TransportEndpoint(endpoint, string.Empty, 0, false, path);
    }

    /// <summary>The socket address to bind or connect to.</summary>
    public async ValueTask<EndPoint> ToEndPointAsync(CancellationToken cancellationToken) =>
        IpcPath is { } path
            ? new System.Net.Sockets.UnixDomainSocketEndPoint(path)
            : new IPEndPoint(await ResolveAsync(cancellationToken).ConfigureAwait(false), Port);

    /// <summary>Creates an unconnected stream socket of the right family for this endpoint.</summary>
    public static System.Net.Sockets.Socket CreateSocket(EndPoint endPoint) => endPoint is System.Net.Sockets.UnixDomainSocketEndPoint
        ? new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified)
        : new System.Net.Sockets.Socket(endPoint.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);

    /// <summary>Resolves the host to one address, preferring IPv4 (libzmq's default is IPv4 only).</summary>
    public async ValueTask<IPAddress> ResolveAsync(CancellationToken cancellationToken)
    {
        if (IsWildcardHost)
        {
            return IPAddress.Any;
        }

        if (IPAddress.TryParse(Host, out var literal))
        {
            return literal;
        }

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new EndpointException(Original, $"cannot resolve host '{Host}': {ex.Message}", ex);
        }

        return addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new EndpointException(Original, $"host '{Host}' has no address");
    }

    public static string Format(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ip => $"tcp://[{ip.Address}]:{ip.Port}",
        IPEndPoint ip => $"tcp://{ip.Address}:{ip.Port}",
        System.Net.Sockets.UnixDomainSocketEndPoint unix => $"ipc://{unix}",
        _ => "?",
    };
}
