using System.Diagnostics.CodeAnalysis;

namespace Reliability.Mdp.Protocol;

/// <summary>
/// The outcome of parsing a message from the network: either a command (with the protocol
/// version taken from its header frame) or an error that says which frame is wrong and why.
/// Parsing never throws on bad input from a peer.
/// </summary>
/// <typeparam name="TCommand">The commands the receiving side can get.</typeparam>
internal readonly struct MdpParseResult<TCommand>
    where TCommand : MdpCommand
{
    private readonly string? _error;

    private MdpParseResult(TCommand? command, MdpVersion version, ReadOnlyMemory<byte> sender, string? error)
    {
        Command = command;
        Version = version;
        Sender = sender;
        _error = error;
    }

    /// <summary>Whether a command was parsed; if not, <see cref="Error"/> says why.</summary>
    [MemberNotNullWhen(true, nameof(Command))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Command is not null;

    /// <summary>The parsed command, or null on failure.</summary>
    public TCommand? Command { get; }

    /// <summary>The protocol version named by the header frame; meaningful only on success.</summary>
    public MdpVersion Version { get; }

    /// <summary>
    /// The peer's routing id (frame 0) for messages parsed on the broker's ROUTER, also on failure
    /// when frame 0 exists (so that the broker can drop or disconnect that peer); empty otherwise.
    /// </summary>
    public ReadOnlyMemory<byte> Sender { get; }

    /// <summary>What is wrong with the message (frame numbers count from 0 in the message as received), or null on success.</summary>
    public string? Error => Command is null ? _error ?? "no message was parsed" : null;

    internal static MdpParseResult<TCommand> Success(TCommand command, MdpVersion version, ReadOnlyMemory<byte> sender) =>
        new(command, version, sender, null);

    internal static MdpParseResult<TCommand> Failure(string error, ReadOnlyMemory<byte> sender) =>
        new(null, default, sender, error);

    /// <summary>The command or the error, for logs.</summary>
    public override string ToString() => IsSuccess ? $"{Version} {Command}" : $"invalid MDP message: {Error}";
}
