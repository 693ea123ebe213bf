using System.Collections.Concurrent;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.Sessions;

/// <summary>The server roles' loop over real sockets: input order, gating by the core, faults contained, timers.</summary>
public sealed class ServerLoopTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task CoreThatThrowsOnOneMessage_IsReported_AndTheLoopGoesOn()
    {
        await using var server = new RouterSocket();
        string endpoint = server.Bind("tcp://127.0.0.1:0");
        await using var client = new DealerSocket();
        client.Connect(endpoint);
        var core = new RecordingCore { ThrowOn = "bad" };
        var faults = new ConcurrentQueue<Exception>();
        using var stop = new CancellationTokenSource();
        var run = new ServerLoop([server], core, batch: 8, faults.Enqueue).RunAsync(stop.Token);

        foreach (var text in new[] { "one", "bad", "two" })
        {
            await client.SendAsync(Message.FromStrings(text));
        }

        await core.WhenReceived(2).WaitAsync(Wait);
        core.Bodies(0).Should().Equal("one", "two");
        faults.Should().ContainSingle().Which.Message.Should().Be("bad input");
        await stop.CancelAsync();
        await run.WaitAsync(Wait);
    }

    [Fact]
    public async Task SocketTheCoreDoesNotAccept_IsNotRead_UntilItDoes()
    {
        await using var backend = new RouterSocket();
        await using var frontend = new RouterSocket();
        var worker = new DealerSocket();
        var client = new DealerSocket();
        await using (worker)
        await using (client)
        {
            worker.Connect(backend.Bind("tcp://127.0.0.1:0"));
            client.Connect(frontend.Bind("tcp://127.0.0.1:0"));
            var core = new RecordingCore { FrontendOpen = false };
            using var stop = new CancellationTokenSource();
            var run = new ServerLoop([backend, frontend], core, batch: 8, static _ => { }).RunAsync(stop.Token);

            // The client's request waits in its pipe while the core refuses the frontend; the worker is heard.
            await client.SendAsync(Message.FromStrings("request"));
            await worker.SendAsync(Message.FromStrings("ready"));
            await core.WhenReceived(1).WaitAsync(Wait);
            core.Bodies(0).Should().Equal("ready");
            core.Bodies(1).Should().BeEmpty();

            // Opening the frontend takes effect at the next pass; the worker's next message makes one.
            core.FrontendOpen = true;
            await worker.SendAsync(Message.FromStrings("again"));
            await core.WhenReceived(3).WaitAsync(Wait);
            core.Bodies(1).Should().Equal("request");
            await stop.CancelAsync();
            await run.WaitAsync(Wait);
        }
    }

    [Fact]
    public async Task CoreDeadline_WakesTheLoopWithoutInput()
    {
        await using var server = new RouterSocket();
        server.Bind("tcp://127.0.0.1:0");
        var core = new RecordingCore { Deadline = TimeSpan.FromMilliseconds(20) };
        using var stop = new CancellationTokenSource();
        var run = new ServerLoop([server], core, batch: 8, static _ => { }).RunAsync(stop.Token);

        // No input at all: only the deadline can bring the loop round again.
        await core.WhenPasses(3).WaitAsync(Wait);
        await stop.CancelAsync();
        await run.WaitAsync(Wait);
        run.IsCompletedSuccessfully.Should().BeTrue("cancellation is a normal end");
    }

    /// <summary>A core that records what reaches it, per socket, and can refuse the second socket or throw.</summary>
    private sealed class RecordingCore : IServerCore
    {
        private readonly ConcurrentQueue<(int Socket, string Body)> _received = new();
        private readonly List<(int Count, TaskCompletionSource Done)> _receiveWaiters = [];
        private readonly List<(int Count, TaskCompletionSource Done)> _passWaiters = [];
        private int _passes;

        public string? ThrowOn { get; init; }

        public volatile bool FrontendOpen = true;

        public TimeSpan Deadline { get; init; } = Timeout.InfiniteTimeSpan;

        public TimeSpan NextDeadlineIn => Deadline;

        public void OnPass()
        {
            int passes = Interlocked.Increment(ref _passes);
            Signal(_passWaiters, passes);
        }

        public bool Accepts(int socket) => socket == 0 || FrontendOpen;

        public void OnMessage(int socket, Message message)
        {
            string body = System.Text.Encoding.UTF8.GetString(message[^1].Span);
            if (body == ThrowOn)
            {
                throw new InvalidOperationException("bad input");
            }

            _received.Enqueue((socket, body));
            Signal(_receiveWaiters, _received.Count);
        }

        public string[] Bodies(int socket) => [.. _received.Where(r => r.Socket == socket).Select(r => r.Body)];

        public Task WhenReceived(int count) => Await(_receiveWaiters, count, () => _received.Count);

        public Task WhenPasses(int count) => Await(_passWaiters, count, () => Volatile.Read(ref _passes));

        private static Task Await(List<(int Count, TaskCompletionSource Done)> waiters, int count, Func<int> current)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (waiters)
            {
                waiters.Add((count, done));
            }

            Signal(waiters, current());
            return done.Task;
        }

        private static void Signal(List<(int Count, TaskCompletionSource Done)> waiters, int reached)
        {
            lock (waiters)
            {
                foreach (var waiter in waiters.Where(w => w.Count <= reached).ToList())
                {
                    waiter.Done.TrySetResult();
                    waiters.Remove(waiter);
                }
            }
        }
    }
}
