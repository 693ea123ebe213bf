using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Transport;

namespace Reliability.Patterns.Freelance;

/// <summary>
/// A brokerless (Freelance, model 3) client, docs/patterns/freelance.md: one ROUTER connected to every
/// server, pinging each, sending each request to the first live server and on to the next after each
/// try timeout until the request's deadline. Many requests may be outstanding at once; replies are matched
/// by sequence number. Thread-safe.
/// </summary>
/// <remarks>
/// Every input (a request, a cancellation, a message from the ROUTER, a timer tick) goes through one
/// channel read by one loop, which alone touches the core, so the core never runs twice at once.
/// </remarks>
public sealed class FreelanceClient : IAsyncDisposable
{
    private readonly FreelanceCore _core;
    private readonly RouterSocket _socket;
    private readonly TimeProvider _time;
    private readonly Channel<Input> _inputs;
    private readonly ITimer _timer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Task _pump;
    private FreelanceStatistics _statistics;
    private int _disposed;

    /// <summary>Validates <paramref name="options"/>, connects to every server and starts pinging them.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public FreelanceClient(FreelanceOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<FreelanceClient>();
        _socket = new RouterSocket(options.EffectiveSocketOptions, loggerFactory, timeProvider);
        _core = new FreelanceCore(options, new Sender(_socket), _time, logger, new FreelanceMetrics(options.Endpoints));
        _inputs = Channel.CreateUnbounded<Input>(new UnboundedChannelOptions { SingleReader = true });
        _timer = _time.CreateTimer(static s => ((FreelanceClient)s!)._inputs.Writer.TryWrite(new Input(InputKind.Timer, null, null)), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var endpoint in options.Endpoints)
        {
            _socket.Connect(endpoint);
        }

        _loop = Task.Run(LoopAsync);
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>The options the client was created with.</summary>
    public FreelanceOptions Options { get; }

    /// <summary>Counts since the client was created (updated by the client's loop).</summary>
    public FreelanceStatistics Statistics => _statistics;

    /// <summary>
    /// Sends <paramref name="request"/> and returns the server's reply frames. Fails with
    /// <see cref="LazyPirate.RequestFailedException"/> when no server answered before
    /// <see cref="FreelanceOptions.RequestTimeout"/> (or <paramref name="timeout"/> when given).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task<Message> RequestAsync(Message request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (timeout is { } given && (given <= TimeSpan.Zero || given > FreelanceOptions.MaxDuration))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), given, "must be positive and at most one hour");
        }

        var pending = new FreelancePending(request.Clone(), timeout);
        ObjectDisposedException.ThrowIf(!_inputs.Writer.TryWrite(new Input(InputKind.Submit, pending, null)), this);

        using var registration = cancellationToken.Register(
            static s =>
            {
                // The caller is released at once; the loop then forgets the request (a later reply is late).
                var (client, request, token) = ((FreelanceClient, FreelancePending, CancellationToken))s!;
                request.Cancel(token);
                client._inputs.Writer.TryWrite(new Input(InputKind.Cancel, request, null));
            },
            (this, pending, cancellationToken));
        return await pending.Task.ConfigureAwait(false);
    }

    /// <summary>Fails the outstanding requests with <see cref="ObjectDisposedException"/> and closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _inputs.Writer.TryComplete();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _timer.DisposeAsync().ConfigureAwait(false);
        await _socket.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task PumpAsync()
    {
        try
        {
            // Bounded by the client's lifetime.
            while (true)
            {
                var message = await _socket.ReceiveAsync(_stop.Token).ConfigureAwait(false);
                if (!_inputs.Writer.TryWrite(new Input(InputKind.Message, null, message)))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposal.
        }
    }

    private async Task LoopAsync()
    {
        long armedAt = long.MaxValue;
        try
        {
            // Bounded: ends when disposal completes the channel.
            await foreach (var input in _inputs.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                switch (input.Kind)
                {
                    case InputKind.Submit:
                        _core.Submit(input.Request!);
                        break;
                    case InputKind.Cancel:
                        _core.Cancel(input.Request!, CancellationToken.None);
                        break;
                    case InputKind.Timer:
                        armedAt = long.MaxValue;
                        _core.OnTimer();
                        break;
                    default:
                        OnMessage(input.Message!);
                        break;
                }

                _statistics = _core.Statistics;

                // A later deadline needs no re-arming: the armed tick comes early and the core finds nothing due.
                long next = _core.NextDeadline;
                if (next < armedAt)
                {
                    armedAt = next;
                    _timer.Change(_core.NextDeadlineIn, Timeout.InfiniteTimeSpan);
                }
            }
        }
        finally
        {
            _core.Shutdown(new ObjectDisposedException(nameof(FreelanceClient)));
            _statistics = _core.Statistics;
        }
    }

    private void OnMessage(Message message)
    {
        switch (message.PeerEvent)
        {
            case PeerEventKind.Connected:
                _core.OnPeerConnected(message[0].Span);
                break;
            case PeerEventKind.Disconnected:
                _core.OnPeerDisconnected(message[0].Span);
                break;
            default:
                _core.OnMessage(message);
                break;
        }
    }

    private enum InputKind
    {
        Submit,
        Cancel,
        Timer,
        Message,
    }

    private readonly record struct Input(InputKind Kind, FreelancePending? Request, Message? Message);

    /// <summary>Non-blocking sends on the client's ROUTER (mandatory routing, so an unknown server is reported, not dropped).</summary>
    private sealed class Sender(RouterSocket socket) : IFreelanceSender
    {
        public FreelanceSendResult TrySend(Message message)
        {
            try
            {
                return socket.TrySend(message, TimeSpan.Zero) ? FreelanceSendResult.Sent : FreelanceSendResult.QueueFull;
            }
            catch (HostUnreachableException)
            {
                return FreelanceSendResult.Unreachable;
            }
        }
    }
}
