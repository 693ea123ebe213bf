namespace Reliability.Transport.Tests.Sockets;

/// <summary>
/// Process-wide host settings. The runtime read them long ago in this test process, so these tests
/// check what is set, not its effect (the broker benchmark's per-process counters show that).
/// </summary>
[Collection(ExclusiveCollection.Name)]
public sealed class TransportHostTests
{
    [Fact]
    public void UseInlineSocketCompletions_VariableAlreadySet_LeavesItAlone()
    {
        string? before = Environment.GetEnvironmentVariable(TransportHost.InlineCompletionsVariable);
        try
        {
            Environment.SetEnvironmentVariable(TransportHost.InlineCompletionsVariable, "0");

            TransportHost.UseInlineSocketCompletions().Should().BeFalse();
            Environment.GetEnvironmentVariable(TransportHost.InlineCompletionsVariable).Should().Be("0");

            // Unset: the call turns it on. (This process's sockets started long ago, so it changes nothing here.)
            Environment.SetEnvironmentVariable(TransportHost.InlineCompletionsVariable, null);
            TransportHost.UseInlineSocketCompletions().Should().BeTrue();
            Environment.GetEnvironmentVariable(TransportHost.InlineCompletionsVariable).Should().Be("1");
        }
        finally
        {
            Environment.SetEnvironmentVariable(TransportHost.InlineCompletionsVariable, before);
        }
    }
}
