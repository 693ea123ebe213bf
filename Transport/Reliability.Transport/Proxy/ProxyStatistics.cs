namespace Reliability.Transport;

/// <summary>
/// A snapshot of what a <see cref="Proxy"/> has moved (the equivalent of the reply to libzmq's
/// steerable-proxy <c>STATISTICS</c> command). Bytes are the sum of every frame's length as the
/// message was received, routing-id frames included.
/// </summary>
/// <param name="FrontendToBackendMessages">Messages received on the frontend and handed to the backend.</param>
/// <param name="FrontendToBackendBytes">Bytes of those messages.</param>
/// <param name="BackendToFrontendMessages">Messages received on the backend and handed to the frontend.</param>
/// <param name="BackendToFrontendBytes">Bytes of those messages.</param>
/// <param name="CapturedMessages">Copies the capture socket accepted.</param>
/// <param name="CaptureDrops">Copies the capture socket could not take at once and that were dropped
/// (a PUB or XPUB capture never refuses: it drops for a slow subscriber itself, uncounted here).</param>
public sealed record ProxyStatistics(
    long FrontendToBackendMessages,
    long FrontendToBackendBytes,
    long BackendToFrontendMessages,
    long BackendToFrontendBytes,
    long CapturedMessages,
    long CaptureDrops)
{
    /// <summary>All counters zero.</summary>
    public static ProxyStatistics Empty { get; } = new(0, 0, 0, 0, 0, 0);
}
