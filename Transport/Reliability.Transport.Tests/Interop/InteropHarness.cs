using System.Text;
using Reliability.Testing.PyZmq;

namespace Reliability.Transport.Tests.Interop;

/// <summary>One end of an interop exchange: our transport or a libzmq socket in a pyzmq peer.</summary>
internal interface ISide
{
    /// <summary>REQ, REP, DEALER, ROUTER, PUSH or PULL.</summary>
    string Type { get; }

    /// <summary>"ours" or "libzmq", for messages.</summary>
    string Owner { get; }

    Task SendAsync(IReadOnlyList<byte[]> frames);

    Task<IReadOnlyList<byte[]>> ReceiveAsync();
}

/// <summary>Our transport's socket as an <see cref="ISide"/>; every wait is bounded by <see cref="InteropHelpers.Wait"/>.</summary>
internal sealed class OurSide : ISide, IAsyncDisposable
{
    public OurSide(string type, SocketOptions? options = null)
    {
        Type = type;
        Socket = InteropHelpers.CreateOurs(type, options ?? new SocketOptions { Linger = TimeSpan.Zero });
        Events = new EventRecorder(Socket);
    }

    public string Type { get; }

    public string Owner => "ours";

    public ZmqSocket Socket { get; }

    public EventRecorder Events { get; }

    // Bounded by the test's own cancellation token, not TrySendAsync/TryReceiveAsync(timeout), so
    // the bound does not depend on the socket's timeout machinery (when this was written, a
    // finite-timeout call that completed early crashed the process once its timer fired).
    public async Task SendAsync(IReadOnlyList<byte[]> frames)
    {
        using var cts = new CancellationTokenSource(InteropHelpers.Wait);
        try
        {
            await Socket.SendAsync(Message.FromFrames(frames), cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"our {Type}: a {frames.Count}-frame send did not complete within {InteropHelpers.Wait}. events: {Events}");
        }
    }

    public async Task<IReadOnlyList<byte[]>> ReceiveAsync()
    {
        using var cts = new CancellationTokenSource(InteropHelpers.Wait);
        try
        {
            var message = await Socket.ReceiveAsync(cts.Token);
            return message.Select(f => f.ToArray()).ToArray();
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"our {Type}: no message within {InteropHelpers.Wait}. events: {Events}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Events.Dispose();
        await Socket.DisposeAsync().AsTask().WaitAsync(InteropHelpers.Wait);
    }
}

/// <summary>A libzmq socket in a pyzmq peer as an <see cref="ISide"/>.</summary>
internal sealed class TheirSide(PeerSocket socket) : ISide
{
    public string Type => Socket.Type;

    public string Owner => "libzmq";

    public PeerSocket Socket { get; } = socket;

    public Task SendAsync(IReadOnlyList<byte[]> frames) => Socket.SendAsync(frames, InteropHelpers.Wait);

    public Task<IReadOnlyList<byte[]>> ReceiveAsync() => Socket.ReceiveAsync(InteropHelpers.Wait);
}

/// <summary>Records a socket's events and lets a test wait for the n-th event of a kind.</summary>
internal sealed class EventRecorder : IDisposable
{
    private readonly ZmqSocket _socket;
    private readonly List<SocketEvent> _events = [];
    private readonly List<(SocketEventKind Kind, int Count, TaskCompletionSource<SocketEvent> Done)> _waiters = [];

    public EventRecorder(ZmqSocket socket)
    {
        _socket = socket;
        _socket.EventRaised += OnEvent;
    }

    public int Count(SocketEventKind kind)
    {
        lock (_events)
        {
            return _events.Count(e => e.Kind == kind);
        }
    }

    /// <summary>Waits until at least <paramref name="occurrence"/> events of <paramref name="kind"/> have been raised.</summary>
    public async Task<SocketEvent> WaitAsync(SocketEventKind kind, int occurrence = 1, TimeSpan? timeout = null)
    {
        var wait = timeout ?? InteropHelpers.Wait;
        TaskCompletionSource<SocketEvent> done;
        lock (_events)
        {
            var seen = _events.Where(e => e.Kind == kind).ToList();
            if (seen.Count >= occurrence)
            {
                return seen[occurrence - 1];
            }

            done = new TaskCompletionSource<SocketEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((kind, occurrence, done));
        }

        try
        {
            return await done.Task.WaitAsync(wait);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_socket}: event {kind} #{occurrence} not raised within {wait}. seen: {this}");
        }
    }

    public void Dispose() => _socket.EventRaised -= OnEvent;

    public override string ToString()
    {
        lock (_events)
        {
            return string.Join(", ", _events.Select(e => e.Error is null ? $"{e.Kind}" : $"{e.Kind}({e.Error})"));
        }
    }

    private void OnEvent(object? sender, SocketEvent e)
    {
        lock (_events)
        {
            _events.Add(e);
            var count = _events.Count(x => x.Kind == e.Kind);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Kind == e.Kind && count >= _waiters[i].Count)
                {
                    _waiters[i].Done.TrySetResult(e);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}

internal static class InteropHelpers
{
    /// <summary>Upper bound for any single wait in an interop test.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public static ZmqSocket CreateOurs(string type, SocketOptions options) => type switch
    {
        "REQ" => new RequestSocket(options),
        "REP" => new ReplySocket(options),
        "DEALER" => new DealerSocket(options),
        "ROUTER" => new RouterSocket(options),
        "PUSH" => new PushSocket(options),
        "PULL" => new PullSocket(options),
        "PUB" => new PublisherSocket(options),
        "SUB" => new SubscriberSocket(options),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported socket type"),
    };

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static int Port(string endpoint) =>
        int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What the initiator puts before the body: REQ adds its own delimiter, DEALER needs one
    /// for REP peers (used everywhere for uniformity), ROUTER names the peer.</summary>
    public static byte[][] Envelope(string senderType, byte[]? target) => senderType switch
    {
        "REQ" or "REP" => [],
        "DEALER" => [[]],
        "ROUTER" => [target ?? throw new ArgumentNullException(nameof(target), "a ROUTER needs a target"), []],
        _ => [],
    };

    /// <summary>
    /// Request from <paramref name="initiator"/>, reply from <paramref name="responder"/>, checking
    /// the frames each side sees. Returns the routing id a ROUTER responder saw (else null).
    /// </summary>
    public static async Task<byte[]?> RoundTripAsync(ISide initiator, ISide responder, string tag, byte[]? target = null)
    {
        byte[][] body = [Utf8("request " + tag), [0x00, 0x01, 0xFF], []];
        byte[][] replyBody = [Utf8("reply " + tag), [0x7F]];
        var because = $"{initiator.Owner} {initiator.Type} -> {responder.Owner} {responder.Type} ({tag})";

        await initiator.SendAsync([.. Envelope(initiator.Type, target), .. body]);
        var got = await responder.ReceiveAsync();

        byte[]? seenId = null;
        IEnumerable<byte[]> responderEnvelope;
        switch (responder.Type)
        {
            case "REP":
                responderEnvelope = [];
                got.Should().HaveCount(body.Length, because);
                break;
            case "ROUTER":
                got.Should().HaveCount(body.Length + 2, because);
                seenId = got[0];
                seenId.Should().NotBeEmpty(because);
                got[1].Should().BeEmpty(because);
                responderEnvelope = [seenId, []];
                break;
            default:
                got.Should().HaveCount(body.Length + 1, because);
                got[0].Should().BeEmpty(because);
                responderEnvelope = [[]];
                break;
        }

        AssertFrames(got.Skip(got.Count - body.Length).ToList(), body, because);

        await responder.SendAsync([.. responderEnvelope, .. replyBody]);
        var reply = await initiator.ReceiveAsync();
        var initiatorEnvelope = Envelope(initiator.Type, target);
        reply.Should().HaveCount(initiatorEnvelope.Length + replyBody.Length, because);
        AssertFrames(reply.Take(initiatorEnvelope.Length).ToList(), initiatorEnvelope, because);
        AssertFrames(reply.Skip(initiatorEnvelope.Length).ToList(), replyBody, because);
        return seenId;
    }

    public static void AssertFrames(IReadOnlyList<byte[]> actual, IReadOnlyList<byte[]> expected, string because)
    {
        actual.Should().HaveCount(expected.Count, because);
        for (var i = 0; i < expected.Count; i++)
        {
            // Compare as hex: FluentAssertions' byte-by-byte message for a 1 MiB frame is useless.
            if (expected[i].Length > 1024)
            {
                actual[i].Length.Should().Be(expected[i].Length, $"frame {i}, {because}");
                actual[i].AsSpan().SequenceEqual(expected[i]).Should().BeTrue($"frame {i} content, {because}");
            }
            else
            {
                Convert.ToHexString(actual[i]).Should().Be(Convert.ToHexString(expected[i]), $"frame {i}, {because}");
            }
        }
    }
}
