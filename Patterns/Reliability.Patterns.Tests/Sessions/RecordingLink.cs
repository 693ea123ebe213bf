using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.Sessions;

/// <summary>
/// An <see cref="ISessionLink"/> with no socket behind it, for testing session cores on a manual clock: records
/// what the core sent and how it ended the connection; waiting sends complete when the test says how.
/// (Compiled into the Mdp tests too, as linked source.)
/// </summary>
internal sealed class RecordingLink(long id) : ISessionLink, IDisposable
{
    private readonly CancellationTokenSource _closing = new();

    public long Id { get; } = id;

    public CancellationToken Closing => _closing.Token;

    public List<Message> Sent { get; } = [];

    public List<(Message Message, Action<SendOutcome> Done)> Waiting { get; } = [];

    public SessionEnd? Ended { get; private set; }

    /// <summary>When false, <see cref="TrySend"/> refuses everything (a full outbound queue).</summary>
    public bool Accepting { get; set; } = true;

    public bool TrySend(Message message)
    {
        if (Accepting)
        {
            Sent.Add(message);
        }

        return Accepting;
    }

    public void SendWaiting(Message message, TimeSpan maxWait, Action<object?, SendOutcome> done, object? state, CancellationToken cancellationToken) =>
        Waiting.Add((message, outcome => done(state, outcome)));

    public void End(SessionEnd reason) => Ended ??= reason;

    /// <summary>Completes every waiting send with <paramref name="outcome"/>, recording the sent ones.</summary>
    public void CompleteWaitingSends(SendOutcome outcome)
    {
        foreach (var (message, done) in Waiting)
        {
            if (outcome == SendOutcome.Sent)
            {
                Sent.Add(message);
            }

            done(outcome);
        }

        Waiting.Clear();
    }

    /// <summary>Cancels <see cref="Closing"/>, as the driver does when the connection ends.</summary>
    public void Close() => _closing.Cancel();

    public void Dispose() => _closing.Dispose();
}
