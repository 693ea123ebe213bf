using Reliability.Mdp.Client;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic;

/// <summary>
/// A client of a Titanic service (RFC 9, docs/patterns/titanic.md): hands a request over for durable storage,
/// then fetches its reply — later, from another process, after crashes — and closes it.
/// </summary>
/// <remarks>
/// Every call is one Majordomo request through the given <see cref="IMajordomoClient"/>, with that client's
/// timeout and retries; a <see cref="MdpRequestFailedException"/> from it passes through. A submission whose
/// answer was lost may have been stored all the same (Titanic then runs it and keeps its reply until it
/// expires). Thread-safe when the Majordomo client is (both of ours are).
/// </remarks>
public sealed class TitanicClient
{
    private readonly IMajordomoClient _client;
    private readonly TimeProvider _time;

    /// <summary>Creates the client.</summary>
    /// <param name="client">The Majordomo client to talk through; left to the caller to dispose.</param>
    /// <param name="options">Settings (validated here); the defaults when null.</param>
    /// <param name="timeProvider">Clock for the waits between polls; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public TitanicClient(IMajordomoClient client, TitanicClientOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        options ??= new TitanicClientOptions();
        options.Validate();
        _client = client;
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The settings the client was created with.</summary>
    public TitanicClientOptions Options { get; }

    /// <summary>Stores a request for <paramref name="service"/> (<c>titanic.request</c>) and returns its id.</summary>
    /// <param name="service">The target service (1 to 255 UTF-8 bytes).</param>
    /// <param name="body">The request frames (at least one); the message is not modified.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    /// <returns>The request id: 32 hexadecimal characters. Titanic answers only once the request is durably stored.</returns>
    /// <exception cref="TitanicException">Titanic refused it: <see cref="Tsp.Error"/> when full or failing (retry later).</exception>
    /// <exception cref="MdpRequestFailedException">Titanic did not answer.</exception>
    public async Task<string> SubmitAsync(string service, Message body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentNullException.ThrowIfNull(body);
        if (body.Count == 0)
        {
            throw new ArgumentException("A Titanic request needs at least one body frame (RFC 9).", nameof(body));
        }

        var reply = await CallAsync(Tsp.RequestService, Tsp.RequestBody(service, body), cancellationToken).ConfigureAwait(false);
        string status = Tsp.StatusOf(reply) ?? string.Empty;
        if (status != Tsp.Ok || reply.Count < 2 || !Tsp.IsId(reply.GetString(1)))
        {
            throw new TitanicException(Tsp.RequestService, status);
        }

        return reply.GetString(1);
    }

    /// <summary>Asks for the reply to request <paramref name="id"/> once (<c>titanic.reply</c>).</summary>
    /// <param name="id">The id <see cref="SubmitAsync"/> returned.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    /// <returns>The reply frames, or null while the reply is pending.</returns>
    /// <exception cref="TitanicException">The id is unknown (<see cref="Tsp.Unknown"/>: closed, expired or never stored) or Titanic failed.</exception>
    /// <exception cref="MdpRequestFailedException">Titanic did not answer.</exception>
    public async Task<Message?> TryGetReplyAsync(string id, CancellationToken cancellationToken = default)
    {
        var reply = await CallAsync(Tsp.ReplyService, Tsp.IdBody(CheckId(id)), cancellationToken).ConfigureAwait(false);
        string status = Tsp.StatusOf(reply) ?? string.Empty;
        switch (status)
        {
            case Tsp.Ok:
                reply.RemoveFront(1);
                return reply;
            case Tsp.Pending:
                return null;
            default:
                throw new TitanicException(Tsp.ReplyService, status);
        }
    }

    /// <summary>
    /// Polls <c>titanic.reply</c> until the reply is there, waiting <see cref="TitanicClientOptions.PollInterval"/>
    /// (doubling up to <see cref="TitanicClientOptions.PollIntervalMax"/>) after each pending answer. A poll that
    /// Titanic does not answer, or answers 500, is retried the same way.
    /// </summary>
    /// <param name="id">The id <see cref="SubmitAsync"/> returned.</param>
    /// <param name="cancellationToken">The only bound on the wait: cancel it to give up.</param>
    /// <returns>The reply frames.</returns>
    /// <exception cref="TitanicException">The id is unknown (<see cref="Tsp.Unknown"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<Message> WaitForReplyAsync(string id, CancellationToken cancellationToken)
    {
        CheckId(id);
        var wait = Options.PollInterval;

        // Bounded by the caller's token.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var reply = await TryGetReplyAsync(id, cancellationToken).ConfigureAwait(false);
                if (reply is not null)
                {
                    return reply;
                }
            }
            catch (TitanicException ex) when (ex.IsTransient)
            {
                // Titanic failed for the moment: poll again like a pending reply.
            }
            catch (MdpRequestFailedException)
            {
                // Titanic or the broker is down for now: the reply is durable, ask again later.
            }

            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, Options.PollIntervalMax.Ticks));
        }
    }

    /// <summary>Forgets request <paramref name="id"/> and its reply (<c>titanic.close</c>); idempotent.</summary>
    /// <param name="id">The id <see cref="SubmitAsync"/> returned.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    /// <returns>A task that completes when Titanic has confirmed.</returns>
    /// <exception cref="TitanicException">Titanic failed.</exception>
    /// <exception cref="MdpRequestFailedException">Titanic did not answer.</exception>
    public async Task CloseAsync(string id, CancellationToken cancellationToken = default)
    {
        var reply = await CallAsync(Tsp.CloseService, Tsp.IdBody(CheckId(id)), cancellationToken).ConfigureAwait(false);
        string status = Tsp.StatusOf(reply) ?? string.Empty;
        if (status != Tsp.Ok)
        {
            throw new TitanicException(Tsp.CloseService, status);
        }
    }

    private static string CheckId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!Tsp.IsId(id))
        {
            throw new ArgumentException($"'{id}' is not a Titanic request id (32 hexadecimal characters).", nameof(id));
        }

        return id;
    }

    private async Task<Message> CallAsync(string service, Message body, CancellationToken cancellationToken) =>
        (await _client.RequestAsync(service, body, cancellationToken).ConfigureAwait(false)).Body;
}
