using Reliability.Patterns.BinaryStar;

namespace Reliability.Mdp.Broker;

/// <summary>The broker as one node of a Binary Star pair (<see cref="BrokerOptions.BinaryStar"/>).</summary>
public sealed partial class MajordomoBroker
{
    /// <summary>The broker's Binary Star node; null for a lone broker.</summary>
    internal BinaryStarNode? Node => _node;

    /// <summary>
    /// Runs the broker loop and the Binary Star node side by side until either ends: a stop ends both,
    /// and a split brain (the node's run ends with <see cref="SplitBrainException"/>) stops the broker
    /// (workers get DISCONNECT) and is rethrown. The node votes on every client request the loop handles.
    /// </summary>
    private async Task RunPairedAsync(BinaryStarNode node, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pairing = node.RunAsync(linked.Token);
        var serving = RunLoopOnPoolAsync(linked.Token);
        await Task.WhenAny(pairing, serving).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        await serving.ConfigureAwait(false);
        await pairing.ConfigureAwait(false);
    }
}
