using System.Diagnostics;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// transport-demo: our REQ/REP, DEALER/ROUTER talking to each other over loopback TCP, and, when
/// Debian's python3-zmq is installed, our REQ talking to a libzmq REP in a python process.
/// </summary>
internal static class TransportDemo
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        int requests = arguments.Int("requests", 1000, 1, 10_000_000);
        arguments.EnsureAllUsed();

        await RunRequestReplyAsync(requests, cancellationToken);
        await RunDealerRouterAsync(requests, cancellationToken);
        return await RunAgainstLibzmqAsync(Math.Min(requests, 1000), cancellationToken);
    }

    private static async Task RunRequestReplyAsync(int requests, CancellationToken cancellationToken)
    {
        await using var server = new ReplySocket();
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        await using var client = new RequestSocket();
        client.Connect(endpoint);
        var echo = Task.Run(
            async () =>
            {
                for (int i = 0; i < requests; i++)
                {
                    var request = await server.ReceiveAsync(cancellationToken);
                    await server.SendAsync(request, cancellationToken);
                }
            },
            cancellationToken);

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < requests; i++)
        {
            await client.SendAsync(Message.FromStrings($"request {i}"), cancellationToken);
            var reply = await client.ReceiveAsync(cancellationToken);
            if (reply.GetString(0) != $"request {i}")
            {
                throw new InvalidOperationException($"wrong reply {reply}");
            }
        }

        await echo;
        Console.WriteLine($"REQ -> REP over {endpoint}: {requests} round trips, mean {clock.Elapsed.TotalMicroseconds / requests:F1} us");
    }

    private static async Task RunDealerRouterAsync(int requests, CancellationToken cancellationToken)
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(new SocketOptions { RoutingId = "demo-dealer"u8.ToArray() });
        dealer.Connect(endpoint);

        var clock = Stopwatch.StartNew();
        var sender = Task.Run(
            async () =>
            {
                for (int i = 0; i < requests; i++)
                {
                    await dealer.SendAsync(Message.FromStrings($"job {i}"), cancellationToken);
                }
            },
            cancellationToken);
        for (int i = 0; i < requests; i++)
        {
            var job = await router.ReceiveAsync(cancellationToken);
            await router.SendAsync(job, cancellationToken);
        }

        for (int i = 0; i < requests; i++)
        {
            await dealer.ReceiveAsync(cancellationToken);
        }

        await sender;
        Console.WriteLine($"DEALER <-> ROUTER over {endpoint}: {requests} asynchronous requests answered in {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    private static async Task<int> RunAgainstLibzmqAsync(int requests, CancellationToken cancellationToken)
    {
        const string Script = """
            import sys, zmq
            ctx = zmq.Context()
            rep = ctx.socket(zmq.REP)
            port = rep.bind_to_random_port("tcp://127.0.0.1")
            print(port, flush=True)
            for _ in range(int(sys.argv[1])):
                rep.send_multipart(rep.recv_multipart())
            """;
        var start = new ProcessStartInfo("/usr/bin/python3", ["-c", Script, requests.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var python = File.Exists("/usr/bin/python3") ? Process.Start(start) : null;
        string? port = python is null ? null : await python.StandardOutput.ReadLineAsync(cancellationToken);
        if (python is null || port is null)
        {
            Console.WriteLine("libzmq peer: skipped (install Debian's python3-zmq to see our REQ talk to libzmq)");
            return 0;
        }

        try
        {
            await using var client = new RequestSocket();
            client.Connect($"tcp://127.0.0.1:{port}");
            for (int i = 0; i < requests; i++)
            {
                await client.SendAsync(Message.FromStrings("hello libzmq", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), cancellationToken);
                var reply = await client.TryReceiveAsync(TimeSpan.FromSeconds(5), cancellationToken)
                    ?? throw new TimeoutException("libzmq REP did not answer");
                if (reply.GetString(1) != i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    throw new InvalidOperationException($"wrong reply {reply}");
                }
            }

            Console.WriteLine($"REQ -> libzmq REP (pyzmq) on port {port}: {requests} round trips answered");
            return 0;
        }
        finally
        {
            if (!python.HasExited)
            {
                python.Kill();
            }

            await python.WaitForExitAsync(CancellationToken.None);
        }
    }
}
