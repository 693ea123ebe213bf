using Microsoft.Extensions.Logging;

namespace Reliability.Patterns.BinaryStar;

/// <summary>Binary Star log messages (event ids 2250-2269).</summary>
internal static partial class BinaryStarLog
{
    [LoggerMessage(EventId = 2250, Level = LogLevel.Information, Message = "Binary Star {Role}: publishing state on {Local}, listening to the peer at {Remote}, heartbeat {HeartbeatMs} ms")]
    public static partial void Started(ILogger logger, BinaryStarRole role, string local, string remote, double heartbeatMs);

    [LoggerMessage(EventId = 2251, Level = LogLevel.Information, Message = "Binary Star {Role}: {From} -> {To} ({Cause})")]
    public static partial void StateChanged(ILogger logger, BinaryStarRole role, BinaryStarState from, BinaryStarState to, string cause);

    [LoggerMessage(EventId = 2252, Level = LogLevel.Error, Message = "Binary Star {Role}: split brain, the peer is {State} too; stopping")]
    public static partial void SplitBrain(ILogger logger, BinaryStarRole role, BinaryStarState state);

    [LoggerMessage(EventId = 2253, Level = LogLevel.Warning, Message = "Binary Star {Role}: dropped a message from the peer that is not a state (1 to 4 in one frame): {Message}")]
    public static partial void InvalidPeerMessage(ILogger logger, BinaryStarRole role, string message);

    [LoggerMessage(EventId = 2254, Level = LogLevel.Debug, Message = "Binary Star {Role}: client request rejected in state {State}")]
    public static partial void RequestRejected(ILogger logger, BinaryStarRole role, BinaryStarState state);

    [LoggerMessage(EventId = 2255, Level = LogLevel.Warning, Message = "Binary Star server: dropped a client message of {Frames} frame(s) without a REQ envelope")]
    public static partial void InvalidRequest(ILogger logger, int frames);
}
