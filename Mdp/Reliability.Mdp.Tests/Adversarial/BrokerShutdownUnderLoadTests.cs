using Xunit.Abstractions;

namespace Reliability.Mdp.Tests.Adversarial;

/// <summary>SIGTERM with a full heap (issue 15: it used to take 2-5 s): the broker still exits within a second.</summary>
[Collection(AdversarialCollection.Name)]
public sealed class BrokerShutdownUnderLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_WhileHoldingWhatNonReadingClientsSent_ExitsZeroWithinASecond()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var attackers = new List<RawConnection>();
        try
        {
            // Three clients that never read, each sending 32 KiB requests to a service with no worker,
            // until flow control pauses them: the broker holds what they sent.
            var request = RawConnection.Request("nobody", new byte[32 * 1024]);
            await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
            {
                var attacker = await RawConnection.OpenAsync(broker.Endpoint);
                lock (attackers)
                {
                    attackers.Add(attacker);
                }

                await attacker.HandshakeAsync();
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try
                {
                    for (int i = 0; i < 4000; i++)
                    {
                        await attacker.SendAsync(request, limit.Token);
                    }
                }
                catch (OperationCanceledException)
                {
                    // Paused: the rest waits in TCP.
                }
            }));
            long rss = broker.Rss();

            var took = await broker.TerminateAsync();

            output.WriteLine($"  SIGTERM with {rss >> 20} MiB resident: exited in {took.TotalMilliseconds:F0} ms, code {broker.ExitCode}");
            broker.ExitCode.Should().Be(0);
            took.Should().BeLessThan(TimeSpan.FromSeconds(1));
        }
        finally
        {
            attackers.ForEach(a => a.Dispose());
        }
    }
}
