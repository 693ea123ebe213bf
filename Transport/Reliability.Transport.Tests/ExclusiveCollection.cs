namespace Reliability.Transport.Tests;

/// <summary>Tests that run on their own, after the parallel ones: memory hogs and timing-sensitive heartbeat checks.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ExclusiveCollection
{
    public const string Name = "Exclusive (not parallel)";
}
