namespace Reliability.Transport.Internal;

/// <summary>
/// The live connection behind a pipe: a ZMTP stream (<see cref="ZmtpConnection"/>) or an in-process
/// link (<see cref="InprocConnection"/>). Disposing it ends the connection; the socket then runs its
/// usual end-of-connection path (peer gone, pipe terminated or reconnect).
/// </summary>
internal interface IPeerConnection : IDisposable
{
    /// <summary>The remote endpoint as reported in events (peer address, or the endpoint connected to).</summary>
    string RemoteEndpoint { get; }
}
