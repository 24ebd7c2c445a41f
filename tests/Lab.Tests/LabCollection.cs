// The system tests build real namespaces and push real traffic; run them one at a time so they do
// not fight over the machine's cores and skew each other's throughput and timing.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Millisampler.Lab.Tests;

/// <summary>All lab tests: one collection, no parallelism.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection : ICollectionFixture<LabCollectionFixture>
{
    public const string Name = "Lab";

    /// <summary>Prefix of every namespace these tests create.</summary>
    public const string Prefix = "ms-lt-";
}

/// <summary>
/// Clears leftovers of crashed earlier runs before the tests, and afterwards fails the run if any
/// namespace made by this run is still there (deleting it, so the machine stays clean either way).
/// </summary>
public sealed class LabCollectionFixture : IDisposable
{
    public LabCollectionFixture() => NetworkLab.CleanupStale(LabCollection.Prefix);

    public void Dispose()
    {
        var mine = $"{LabCollection.Prefix}{Environment.ProcessId}r";
        var left = NetworkLab.ListNamespaces(mine);
        if (left.Count > 0)
        {
            NetworkLab.CleanupStale(mine, includeLiveOwners: true);
            throw new InvalidOperationException($"Tests left namespaces behind: {string.Join(", ", left)}");
        }
    }
}
