using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Storage;

/// <summary>
/// Captures, their per-host runs and their analysis. One implementation per database (<see cref="SqliteStore"/>,
/// <see cref="PostgresStore"/>), both on <see cref="SqlStore"/> and both held to the same contract tests.
/// </summary>
internal interface ICaptureStore
{
    /// <summary>Number of this coordinator's captures that this start found unfinished and marked failed.</summary>
    int InterruptedAtStart { get; }

    /// <summary>
    /// Creates or upgrades the schema and marks captures this coordinator left unfinished as failed (other
    /// coordinators sharing the database keep theirs). Idempotent; every other method calls it.
    /// </summary>
    Task EnsureInitializedAsync(CancellationToken cancellationToken);

    /// <summary>Inserts a new capture (queued or scheduled).</summary>
    Task InsertAsync(Capture capture, CancellationToken cancellationToken);

    /// <summary>Updates a capture's state and host outcomes (not its analysis or runs).</summary>
    Task UpdateAsync(Capture capture, CancellationToken cancellationToken);

    /// <summary>Stores a finished capture: its final state, its analysis (if any) and every run, in one transaction.</summary>
    Task SaveResultAsync(Capture capture, IReadOnlyCollection<Run> runs, CancellationToken cancellationToken);

    /// <summary>A capture, with its analysis when <paramref name="includeAnalysis"/>; null when unknown.</summary>
    Task<Capture?> GetAsync(string captureId, bool includeAnalysis, CancellationToken cancellationToken);

    /// <summary>Captures newest first, without analysis, filtered by rack (empty = all) and request time [from, to) in unix ns (0 = unbounded).</summary>
    Task<IReadOnlyList<Capture>> ListAsync(string rack, long fromUnixNs, long toUnixNs, int limit, CancellationToken cancellationToken);

    /// <summary>The stored runs of a capture, sorted by host; only <paramref name="hosts"/> when not empty.</summary>
    Task<IReadOnlyList<Run>> GetRunsAsync(string captureId, IReadOnlyCollection<string> hosts, CancellationToken cancellationToken);
}
