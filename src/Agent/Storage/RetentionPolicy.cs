using Millisampler.Common.Time;
namespace Millisampler.Agent.Storage;

/// <summary>What retention needs to know about one stored run.</summary>
/// <param name="RunId">The run.</param>
/// <param name="StartTaiNs">Start of bin 0, TAI ns.</param>
/// <param name="LengthBytes">File size, bytes.</param>
/// <param name="Pinned">Scheduled by a coordinator and not yet fetched: never deleted.</param>
internal readonly record struct RetentionCandidate(string RunId, long StartTaiNs, long LengthBytes, bool Pinned);

/// <summary>The runs a retention pass deletes, and why.</summary>
internal sealed record RetentionPlan(
    IReadOnlyList<RetentionCandidate> ExpiredByAge,
    IReadOnlyList<RetentionCandidate> EvictedBySize,
    int PinnedKept,
    long RemainingBytes);

/// <summary>Chooses which runs to delete, by age then by total size, oldest first; no I/O.</summary>
internal static class RetentionPolicy
{
    /// <summary>Plans one retention pass.</summary>
    /// <param name="runs">Every stored run.</param>
    /// <param name="nowUnixNs">Current time, unix ns.</param>
    /// <param name="retentionDays">Runs that started longer ago than this are deleted.</param>
    /// <param name="maxTotalBytes">Then the oldest runs are deleted until the rest fit in this many bytes.</param>
    /// <remarks>
    /// Age is measured from the run's TAI start against UTC now; the 37 s TAI-UTC offset is
    /// irrelevant at a retention of days. <see cref="RetentionPlan.PinnedKept"/> counts pinned runs
    /// that either rule would otherwise have deleted.
    /// </remarks>
    public static RetentionPlan Plan(IEnumerable<RetentionCandidate> runs, long nowUnixNs, int retentionDays, long maxTotalBytes)
    {
        long cutoffNs = nowUnixNs - TimeNs.Of(TimeSpan.FromDays(retentionDays));
        var expired = new List<RetentionCandidate>();
        var evicted = new List<RetentionCandidate>();
        var keptPinned = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<RetentionCandidate>();

        foreach (var run in runs.OrderBy(r => r.StartTaiNs).ThenBy(r => r.RunId, StringComparer.Ordinal))
        {
            if (run.StartTaiNs < cutoffNs)
            {
                if (run.Pinned)
                {
                    keptPinned.Add(run.RunId);
                    kept.Add(run);
                }
                else
                {
                    expired.Add(run);
                }
            }
            else
            {
                kept.Add(run);
            }
        }

        long total = kept.Sum(r => r.LengthBytes);
        foreach (var run in kept)
        {
            if (total <= maxTotalBytes)
            {
                break;
            }

            if (run.Pinned)
            {
                keptPinned.Add(run.RunId);
            }
            else
            {
                evicted.Add(run);
                total -= run.LengthBytes;
            }
        }

        return new RetentionPlan(expired, evicted, keptPinned.Count, total);
    }
}
