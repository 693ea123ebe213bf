using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Reliability.Testing.PyZmq;

/// <summary>Settings for <see cref="PyZmqPeer.StartAsync(PyZmqPeerOptions?)"/>.</summary>
public sealed record PyZmqPeerOptions
{
    /// <summary>Script speaking the peer line protocol; default <see cref="PyZmqEnvironment.PeerScriptPath"/>.
    /// A custom script must print the <c>{"event":"ready","pid":…}</c> line first and answer requests by id.</summary>
    public string? ScriptPath { get; init; }

    /// <summary>Extra command-line arguments for the script.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>How long the interpreter may take to print its ready line. Default 15 s.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Budget for one request on top of the request's own timeout (e.g. a receive's). Default 5 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a value is unusable.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartupTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(Arguments);
    }
}

/// <summary>
/// A real libzmq (pyzmq) process driven from a test over a JSON-lines protocol on stdin/stdout.
/// Every request has a timeout; a request that times out kills the peer (its stream can no longer
/// be trusted). Dispose always kills and reaps the process, so use it with <c>await using</c>.
/// </summary>
public sealed class PyZmqPeer : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan GateTimeout = TimeSpan.FromSeconds(130);

    private readonly PyZmqPeerOptions _options;
    private readonly SemaphoreSlim _requestGate = new(1, 1);
    private long _nextId;
    private int _disposed;

    private PyZmqPeer(PythonProcess process, PyZmqPeerOptions options, JsonObject hello)
    {
        Process = process;
        _options = options;
        ReportedProcessId = hello["pid"]?.GetValue<int>() ?? -1;
        PyZmqVersion = hello["pyzmq"]?.GetValue<string>() ?? "?";
        LibZmqVersion = hello["libzmq"]?.GetValue<string>() ?? "?";
    }

    /// <summary>The underlying process (stderr, exit state).</summary>
    public PythonProcess Process { get; }

    /// <summary>OS process id of the peer, as started.</summary>
    public int ProcessId => Process.ProcessId;

    /// <summary>Process id the peer reported about itself in its ready line.</summary>
    public int ReportedProcessId { get; }

    /// <summary>pyzmq version of the peer.</summary>
    public string PyZmqVersion { get; }

    /// <summary>libzmq version of the peer.</summary>
    public string LibZmqVersion { get; }

    /// <summary>True once the peer process is gone.</summary>
    public bool HasExited => Process.HasExited;

    /// <summary>Starts a peer and waits for its ready line.</summary>
    /// <param name="options">Script and timeouts; null for the bundled <c>zmq_peer.py</c>.</param>
    /// <returns>The running peer.</returns>
    /// <exception cref="PyZmqUnavailableException">pyzmq or the interpreter is missing (always thrown, CI or not; the test attributes decide about skipping).</exception>
    public static async Task<PyZmqPeer> StartAsync(PyZmqPeerOptions? options = null)
    {
        options ??= new PyZmqPeerOptions();
        options.Validate();
        PyZmqEnvironment.EnsureAvailable();
        var process = PythonProcess.Start(options.ScriptPath ?? PyZmqEnvironment.PeerScriptPath, options.Arguments);
        try
        {
            var line = await process.ReadLineAsync(options.StartupTimeout).ConfigureAwait(false)
                ?? throw new PyZmqPeerException("EOF", $"{process.Description} exited before its ready line. stderr: {PythonProcess.Tail(process.StandardError)}");
            var hello = ParseObject(line);
            if (hello?["event"]?.GetValue<string>() != "ready")
            {
                throw new PyZmqPeerException("PROTOCOL", $"{process.Description}: expected a ready line, got '{PythonProcess.Tail(line, 200)}'");
            }

            return new PyZmqPeer(process, options, hello);
        }
        catch
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates a libzmq socket in the peer. LINGER is 0 unless the options say otherwise.</summary>
    /// <param name="type">REQ, REP, DEALER, ROUTER, PUSH, PULL (also PUB, SUB, XPUB, XSUB, PAIR).</param>
    /// <param name="options">Socket options, or null.</param>
    /// <returns>A handle to the socket.</returns>
    public async Task<PeerSocket> CreateSocketAsync(string type, PeerSocketOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        var request = new JsonObject { ["type"] = type.ToUpperInvariant() };
        var opts = (options ?? new PeerSocketOptions()).ToWire();
        if (opts.Count > 0)
        {
            request["options"] = opts;
        }

        var reply = await RequestAsync("socket", request).ConfigureAwait(false);
        return new PeerSocket(this, reply["socket"]!.GetValue<int>(), type.ToUpperInvariant());
    }

    /// <summary>Round trip without side effects; returns the pid the peer reports.</summary>
    /// <returns>The peer's pid.</returns>
    public async Task<int> PingAsync()
    {
        var reply = await RequestAsync("ping").ConfigureAwait(false);
        return reply["pid"]!.GetValue<int>();
    }

    /// <summary>
    /// Sends one request and waits for its reply. The wait is bounded by
    /// <see cref="PyZmqPeerOptions.RequestTimeout"/> plus <paramref name="extraTime"/>.
    /// </summary>
    /// <param name="op">Operation name (see <c>zmq_peer.py</c>).</param>
    /// <param name="arguments">Request fields; an <c>id</c> and <c>op</c> are added.</param>
    /// <param name="extraTime">Time the operation itself may legitimately take (a receive timeout, a sleep).</param>
    /// <returns>The reply object (with <c>ok</c> = true).</returns>
    /// <exception cref="PyZmqPeerException">The peer reported an error or ended.</exception>
    /// <exception cref="TimeoutException">No reply in time; the peer has been killed.</exception>
    public async Task<JsonObject> RequestAsync(string op, JsonObject? arguments = null, TimeSpan? extraTime = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(op);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var budget = _options.RequestTimeout + (extraTime ?? TimeSpan.Zero);
        if (!await _requestGate.WaitAsync(GateTimeout).ConfigureAwait(false))
        {
            throw new TimeoutException($"peer {ProcessId}: request '{op}' waited {GateTimeout} for an earlier request");
        }

        try
        {
            var id = Interlocked.Increment(ref _nextId);
            var request = arguments ?? [];
            request["id"] = id;
            request["op"] = op;
            var text = request.ToJsonString();
            var deadline = TimeProvider.System.GetTimestamp() + (long)(budget.TotalSeconds * TimeProvider.System.TimestampFrequency);
            try
            {
                await Process.WriteLineAsync(text, budget).ConfigureAwait(false);

                // Bounded: each read waits at most until the deadline; stale or foreign lines are skipped.
                while (true)
                {
                    var left = TimeProvider.System.GetElapsedTime(TimeProvider.System.GetTimestamp(), deadline);
                    if (left <= TimeSpan.Zero)
                    {
                        throw new TimeoutException();
                    }

                    var line = await Process.ReadLineAsync(left).ConfigureAwait(false)
                        ?? throw new PyZmqPeerException("EOF", $"peer {ProcessId} ended during '{op}'. stderr: {PythonProcess.Tail(Process.StandardError)}");
                    var reply = ParseObject(line);
                    if (reply?["id"] is not JsonValue replyId || replyId.GetValueKind() != JsonValueKind.Number || replyId.GetValue<long>() != id)
                    {
                        continue;
                    }

                    if (reply["ok"]?.GetValue<bool>() == true)
                    {
                        return reply;
                    }

                    var error = reply["error"]?.GetValue<string>() ?? "ERROR";
                    var message = reply["message"]?.GetValue<string>() ?? string.Empty;
                    throw new PyZmqPeerException(error, $"peer {ProcessId}: '{op}' failed with {error}: {message}");
                }
            }
            catch (TimeoutException)
            {
                // A late reply would desynchronise the stream: the peer is finished.
                await Process.KillAsync().ConfigureAwait(false);
                throw new TimeoutException($"peer {ProcessId}: no reply to '{op}' within {budget}; peer killed. request: {PythonProcess.Tail(text, 300)} stderr: {PythonProcess.Tail(Process.StandardError)}");
            }
            catch (IOException ex)
            {
                throw new PyZmqPeerException("EOF", $"peer {ProcessId} is gone ({ex.Message}) during '{op}'. stderr: {PythonProcess.Tail(Process.StandardError)}");
            }
        }
        finally
        {
            _requestGate.Release();
        }
    }

    /// <summary>Asks the peer to close its sockets and exit, and waits for the exit.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> ExitAsync()
    {
        await RequestAsync("exit").ConfigureAwait(false);
        return await Process.WaitForExitAsync(_options.RequestTimeout).ConfigureAwait(false);
    }

    /// <summary>Kills the peer at once (SIGKILL: no FIN-less goodbye, like a crash) and reaps it.</summary>
    /// <returns>A task that completes when the process is gone.</returns>
    public Task KillAsync() => Process.KillAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Process.DisposeAsync().ConfigureAwait(false);
        _requestGate.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"pyzmq {PyZmqVersion}/libzmq {LibZmqVersion} pid {ProcessId}");

    private static JsonObject? ParseObject(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
