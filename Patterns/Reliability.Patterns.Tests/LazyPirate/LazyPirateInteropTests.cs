using System.Text;
using Reliability.Patterns.LazyPirate;
using Reliability.Testing;
using Reliability.Testing.PyZmq;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.LazyPirate;

/// <summary>Our Lazy Pirate client against a libzmq REP server (pyzmq), the zguide's lpserver setup.</summary>
public sealed class LazyPirateInteropTests
{
    [PyZmqFact]
    public async Task RequestAsync_LibZmqRepDropsFirstAttemptOfEachRequest_RetriesAndGetsEachEcho()
    {
        var clock = new ManualTimeProvider();
        await using var peer = await PyZmqPeer.StartAsync();
        var rep = await peer.CreateSocketAsync("REP");
        string endpoint = await rep.BindAsync();
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint] }, timeProvider: clock);

        for (int i = 0; i < 3; i++)
        {
            string body = $"lp-{i}";
            var pending = client.RequestAsync(Message.FromStrings(body));
            var dropped = await rep.ReceiveAsync();
            Encoding.UTF8.GetString(dropped.Single()).Should().Be(body);
            clock.Advance(client.Options.RequestTimeout);

            // libzmq's REP must answer before its next recv; the answer goes to the closed socket's pipe.
            await rep.SendStringsAsync("late");
            (await rep.EchoAsync(1)).Should().Be(1);

            (await pending.Within()).GetString(0).Should().Be(body);
        }

        client.Statistics.Should().Be(new LazyPirateStatistics(Requests: 3, Succeeded: 3, Retries: 3, Abandoned: 0, Cancelled: 0, SocketsOpened: 4));
    }

    [PyZmqFact]
    public async Task RequestAsync_HealthyLibZmqRep_AnswersEveryRequestWithoutRetry()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var rep = await peer.CreateSocketAsync("REP");
        string endpoint = await rep.BindAsync();
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint], RequestTimeout = TimeSpan.FromSeconds(5) });

        var echo = rep.EchoAsync(20);
        for (int i = 0; i < 20; i++)
        {
            (await client.RequestAsync(Message.FromStrings("id", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).Within())
                .GetString(1).Should().Be(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        (await echo.Within()).Should().Be(20);
        client.Statistics.Retries.Should().Be(0);
    }

    [PyZmqFact]
    public async Task RequestAsync_LibZmqRepNeverAnswers_AbandonsAfterAttempts()
    {
        var clock = new ManualTimeProvider();
        await using var peer = await PyZmqPeer.StartAsync();
        var rep = await peer.CreateSocketAsync("REP");
        string endpoint = await rep.BindAsync();
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [endpoint], Attempts = 2 }, timeProvider: clock);

        var pending = client.RequestAsync(Message.FromStrings("void"));
        await rep.ReceiveAsync();
        clock.Advance(client.Options.RequestTimeout);
        await rep.SendStringsAsync("late");
        await rep.ReceiveAsync();
        clock.Advance(client.Options.RequestTimeout);

        (await pending.Awaiting(p => p.Within()).Should().ThrowAsync<RequestFailedException>()).Which.Attempts.Should().Be(2);
    }
}
