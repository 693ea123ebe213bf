using System.Globalization;
using System.Net;

namespace Reliability.Transport.Internal;

/// <summary>A parsed <c>tcp://host:port</c> endpoint.</summary>
internal sealed record TcpEndpoint(string Original, string Host, int Port, bool IsWildcardHost)
{
    /// <summary>Parses an endpoint; <paramref name="forBind"/> allows <c>*</c> as host and <c>*</c>/0 as port.</summary>
    /// <exception cref="EndpointException">The endpoint is malformed or uses an unsupported transport.</exception>
    public static TcpEndpoint Parse(string endpoint, bool forBind)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        int schemeEnd = endpoint.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw new EndpointException(endpoint, "expected 'transport://address', e.g. 'tcp://127.0.0.1:5555'");
        }

        string transport = endpoint[..schemeEnd];
        if (transport != "tcp")
        {
            throw new EndpointException(endpoint, $"transport '{transport}' is not supported (supported: tcp)");
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

        return new TcpEndpoint(endpoint, host, port, wildcard);
    }

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

    public static string Format(IPEndPoint endPoint) =>
        endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"tcp://[{endPoint.Address}]:{endPoint.Port}"
            : $"tcp://{endPoint.Address}:{endPoint.Port}";
}
