namespace Reliability.Chaos.Tests;

/// <summary>Scenario tests run one at a time: they measure recovery times and would disturb each other's timing.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChaosCollection
{
    public const string Name = "chaos scenarios";
}
