namespace Reliability.Transport;

/// <summary>
/// Process-wide settings for programs built on the transport (brokers, workers, benchmarks). These
/// are choices for a whole process, so a library never makes them; a program's entry point does.
/// </summary>
public static class TransportHost
{
    /// <summary>The .NET variable read once, when the first socket starts its I/O engine.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Asks .NET (Linux and macOS) to run socket completions on its event threads instead of handing
    /// each one to the thread pool: the connection loops then decode and deliver without a thread
    /// hop, which saves a context switch per received batch (the Majordomo broker benchmark spends
    /// 4.3 context switches per request with the hand-off and 1.8 without). Call it first thing in
    /// <c>Main</c>, before the process opens any socket: .NET reads the setting once. Only for
    /// processes whose socket event handlers, PLAIN authenticators and
    /// <see cref="SocketOptions.InlineReceiveContinuations"/> loops never block, because a blocked
    /// event thread stalls every connection it serves. An explicit setting of the variable in the
    /// environment is left as it is.
    /// </summary>
    /// <returns>True when this call turned the setting on; false when the environment already decided it.</returns>
    public static bool UseInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is not null)
        {
            return false;
        }

        Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        return true;
    }
}
