namespace Millisampler.Coordinator.Storage;

/// <summary>One agent pin the coordinator owes a release: run <paramref name="RunId"/> on <paramref name="Host"/>, owed since <paramref name="SinceUnixNs"/>.</summary>
internal sealed record PinRelease(string RunId, string Host, long SinceUnixNs);

/// <summary>
/// Pins the coordinator will not take back by fetching: runs of a capture a coordinator stop or crash interrupted,
/// and look-back windows already stored. Kept in the database (table <c>pin_releases</c>, per coordinator), so a
/// release owed when the coordinator stops is still owed after it starts again; <see cref="Captures.PinReleaser"/>
/// works them off.
/// </summary>
internal interface IPinReleaseStore
{
    /// <summary>Owes a release of run <paramref name="runId"/> on each of <paramref name="hosts"/> (idempotent).</summary>
    Task AddPinReleasesAsync(string runId, IReadOnlyCollection<string> hosts, CancellationToken cancellationToken);

    /// <summary>This coordinator's owed releases, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<PinRelease>> ListPinReleasesAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Done (or given up): forgets the release.</summary>
    Task RemovePinReleaseAsync(string runId, string host, CancellationToken cancellationToken);
}
