using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Storage;

/// <summary>
/// Every trigger decision (FIRED, JOINED, REFUSED) with the report as received, in table <c>triggers</c>: what fired,
/// with its values, and what the coordinator did about it.
/// </summary>
internal interface ITriggerStore
{
    /// <summary>Stores one decision (idempotent on its trigger id).</summary>
    Task InsertTriggerAsync(TriggerRecord record, CancellationToken cancellationToken);

    /// <summary>
    /// Decisions newest first, at most <paramref name="limit"/>; <paramref name="rack"/> empty = every rack;
    /// received at or after <paramref name="fromUnixNs"/> (0 = no bound).
    /// </summary>
    Task<IReadOnlyList<TriggerRecord>> ListTriggersAsync(string rack, long fromUnixNs, int limit, CancellationToken cancellationToken);
}
