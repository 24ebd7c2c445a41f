using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Storage;

/// <summary>Where a sweep stands for one rack at one width: the last period it claimed.</summary>
/// <param name="Period">Index of the last period claimed (started or skipped); -1 when none.</param>
internal sealed record SweepSlotProgress(string Rack, long BinWidthNs, long Period, long StartedAtUnixNs);

/// <summary>Which summaries a report reads: sweep, rack and width (empty/0 = all), start time in [From, To) unix ns.</summary>
internal sealed record SummaryFilter(string Sweep, string Rack, long BinWidthNs, long FromUnixNs, long ToUnixNs);

/// <summary>Sweep definitions, their progress per rack and width, and the summaries their captures keep.</summary>
internal interface ISweepStore
{
    /// <summary>Stores a new sweep; false when one with that name exists.</summary>
    Task<bool> CreateSweepAsync(Sweep sweep, CancellationToken cancellationToken);

    Task<IReadOnlyList<Sweep>> ListSweepsAsync(CancellationToken cancellationToken);

    Task<Sweep?> GetSweepAsync(string name, CancellationToken cancellationToken);

    /// <summary>Pauses or resumes; the updated sweep, or null when unknown.</summary>
    Task<Sweep?> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken);

    /// <summary>Deletes the sweep and its progress (not its summaries); false when unknown.</summary>
    Task<bool> DeleteSweepAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<SweepSlotProgress>> GetProgressAsync(string sweep, CancellationToken cancellationToken);

    /// <summary>
    /// Claims period <paramref name="period"/> of a sweep's rack and width: true when no one (no coordinator) claimed
    /// it or a later one before. One conditional upsert, so a period runs at most once across coordinators and restarts.
    /// </summary>
    Task<bool> ClaimPeriodAsync(string sweep, string rack, long binWidthNs, long period, CancellationToken cancellationToken);

    /// <summary>Stores (or replaces) the summary of one sweep capture; deletes summaries past their retention.</summary>
    Task SaveSummaryAsync(SweepSummary summary, CancellationToken cancellationToken);

    /// <summary>Stores many summaries in one transaction (imports, benchmarks).</summary>
    Task SaveSummariesAsync(IReadOnlyCollection<SweepSummary> summaries, CancellationToken cancellationToken);

    /// <summary>
    /// Summaries averaged per rack (and per width when <paramref name="perWidth"/>, else width 0) and per bucket of
    /// <paramref name="bucketNs"/> (0 = one row for the whole filter period, bucket start 0); ordered by rack, width, bucket.
    /// </summary>
    Task<IReadOnlyList<TrendRow>> AggregateAsync(SummaryFilter filter, long bucketNs, bool perWidth, CancellationToken cancellationToken);
}
