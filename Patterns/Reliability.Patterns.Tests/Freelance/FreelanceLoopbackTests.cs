using System.Net;
using System.Net.Sockets;
using System.Text;
using Reliability.Patterns.Freelance;
using Reliability.Patterns.LazyPirate;
using Reliability.Patterns.Tests.LazyPirate;
using Reliability.Testing.PyZmq;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.Freelance;

/// <summary>Our Freelance client and servers over loopback TCP, and our client against a libzmq (pyzmq) model 3 server.</summary>
public sealed class FreelanceLoopbackTests
{
    private static readonly Func<Message, CancellationToken, ValueTask<Message>> Echo = (m, _) => ValueTask.FromResult(m);

    /// <summary>A server's endpoint is its identity, so it must be known before binding: take a free port from the OS and release it.</summary>
    internal static string FreeEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"tcp://127.0.0.1:{port}";
    }

    [Fact]
    public async Task RequestAsync_ThreeServers_AnswersManyOutstandingRequests()
    {
        var servers = new List<FreelanceServer>();
        var runs = new List<Task>();
        for (int i = 0; i < 3; i++)
        {
            var server = new FreelanceServer(FreeEndpoint(), Echo);
            servers.Add(server);
            runs.Add(server.RunAsync());
        }

        await using var client = new FreelanceClient(new FreelanceOptions { Endpoints = [.. servers.Select(s => s.Endpoint)], RequestTimeout = TimeSpan.FromSeconds(10), TryTimeout = TimeSpan.FromSeconds(5) });
        var requests = Enumerable.Range(0, 50).Select(i => client.RequestAsync(Message.FromStrings($"r{i}"))).ToArray();
        var replies = await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(20));
        replies.Select(r => r.GetString(0)).Should().Equal(Enumerable.Range(0, 50).Select(i => $"r{i}"));
        client.Statistics.Replies.Should().Be(50);

        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        await Task.WhenAll(runs).Within();
    }

    [Fact]
    public async Task RequestAsync_FirstServerDown_IsAnsweredByTheNextOne()
    {
        string dead = FreeEndpoint();
        await using var live = new FreelanceServer(FreeEndpoint(), Echo);
        var run = live.RunAsync();
        await using var client = new FreelanceClient(new FreelanceOptions { Endpoints = [dead, live.Endpoint], RequestTimeout = TimeSpan.FromSeconds(10) });

        var reply = await client.RequestAsync(Message.FromStrings("hi")).WaitAsync(TimeSpan.FromSeconds(15));
        reply.GetString(0).Should().Be("hi");
        live.Served.Should().Be(1);
        await live.DisposeAsync();
        await run.Within();
    }

    [Fact]
    public async Task Server_AnswersModel1ReqClients_SoSequentialFailoverWorks()
    {
        string dead = FreeEndpoint();
        await using var live = new FreelanceServer(FreeEndpoint(), Echo);
        var run = live.RunAsync();
        await using var client = new LazyPirateClient(new LazyPirateOptions { Endpoints = [dead, live.Endpoint], Failover = true, RequestTimeout = TimeSpan.FromMilliseconds(500) });

        (await client.RequestAsync(Message.FromStrings("one")).Within()).GetString(0).Should().Be("one");
        (await client.RequestAsync(Message.FromStrings("two")).Within()).GetString(0).Should().Be("two");
        live.Served.Should().Be(2);
        await live.DisposeAsync();
        await run.Within();
    }

    [Fact]
    public async Task RequestAsync_NoServer_FailsAtTheDeadline()
    {
        await using var client = new FreelanceClient(new FreelanceOptions { Endpoints = [FreeEndpoint()], RequestTimeout = TimeSpan.FromMilliseconds(300), TryTimeout = TimeSpan.FromMilliseconds(100) });
        var act = () => client.RequestAsync(Message.FromStrings("lost")).Within();
        await act.Should().ThrowAsync<RequestFailedException>();
        client.Statistics.Failed.Should().Be(1);
    }

    [PyZmqFact]
    public async Task RequestAsync_LibZmqModel3Server_AnswersPingsAndRequests()
    {
        string endpoint = FreeEndpoint();
        await using var peer = await PyZmqPeer.StartAsync();
        var router = await peer.CreateSocketAsync("ROUTER", new PeerSocketOptions { RoutingId = Encoding.UTF8.GetBytes(endpoint) });
        await router.BindAsync(endpoint);
        await using var client = new FreelanceClient(new FreelanceOptions { Endpoints = [endpoint], RequestTimeout = TimeSpan.FromSeconds(10) });
        var pending = Enumerable.Range(0, 5).Select(i => client.RequestAsync(Message.FromStrings($"py{i}"))).ToArray();

        // The test plays flserver3: PING → PONG, [sequence][body] → [sequence][body], bounded in count.
        int answered = 0;
        bool pinged = false;
        for (int step = 0; step < 50 && answered < 5; step++)
        {
            var frames = await router.ReceiveAsync(TimeSpan.FromSeconds(10));
            if (Encoding.UTF8.GetString(frames[1]) == "PING")
            {
                pinged = true;
                await router.SendAsync(frames[0], "PONG"u8.ToArray());
            }
            else
            {
                await router.SendAsync(frames);
                answered++;
            }
        }

        pinged.Should().BeTrue();
        var replies = await Task.WhenAll(pending).Within();
        replies.Select(r => r.GetString(0)).Should().Equal(Enumerable.Range(0, 5).Select(i => $"py{i}"));
    }
}
