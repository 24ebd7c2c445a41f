namespace Millisampler.Agent.Storage;

/// <summary>What one retention pass did.</summary>
/// <param name="DeletedByAge">Runs deleted because they started more than RetentionDays ago.</param>
/// <param name="DeletedBySize">Runs deleted, oldest first, to bring the total under MaxTotalBytes.</param>
/// <param name="FreedBytes">Bytes of the deleted run files.</param>
/// <param name="PinnedKept">Pinned runs kept that age or size would otherwise have deleted.</param>
/// <param name="RemainingRuns">Runs stored after the pass.</param>
/// <param name="RemainingBytes">Bytes of the run files stored after the pass.</param>
public sealed record RetentionResult(
    int DeletedByAge,
    int DeletedBySize,
    long FreedBytes,
    int PinnedKept,
    int RemainingRuns,
    long RemainingBytes);
