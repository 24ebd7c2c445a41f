using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Captures;

/// <summary>One host's run placed onto the capture's bins.</summary>
/// <param name="Host">Host name.</param>
/// <param name="FirstBin">First capture bin the run covers.</param>
/// <param name="BinsCovered">Capture bins that hold this host's data: [FirstBin, FirstBin + BinsCovered).</param>
/// <param name="IngressBytes">Per capture bin; 0 outside the covered bins.</param>
/// <param name="IngressCeBytes">Per capture bin.</param>
/// <param name="IngressRetransmitBytes">Per capture bin.</param>
/// <param name="IngressConnections">Per capture bin.</param>
/// <param name="Run">The run as the agent returned it.</param>
/// <param name="EgressBytes">Per capture bin; null when the run carries no egress series.</param>
/// <param name="IngressCrossRegionBytes">Per capture bin; null when the run carries no cross-region series.</param>
internal sealed record MergedHost(
    string Host,
    int FirstBin,
    int BinsCovered,
    ulong[] IngressBytes,
    ulong[] IngressCeBytes,
    ulong[] IngressRetransmitBytes,
    uint[] IngressConnections,
    Run Run,
    ulong[]? EgressBytes = null,
    ulong[]? IngressCrossRegionBytes = null)
{
    /// <summary>True when the covered bins start at bin 0, as the analysis expects of a host cut short.</summary>
    public bool CoversFromStart => FirstBin == 0 || BinsCovered == 0;
}

/// <summary>A run the merger could not place, and why.</summary>
internal sealed record RejectedRun(string Host, string Reason);

/// <summary>Result of merging a capture's runs.</summary>
/// <param name="Hosts">Placed runs, sorted by host.</param>
/// <param name="Rejected">Runs that could not be placed.</param>
/// <param name="Missing">Requested hosts with no run at all, sorted.</param>
internal sealed record MergedCapture(IReadOnlyList<MergedHost> Hosts, IReadOnlyList<RejectedRun> Rejected, IReadOnlyList<string> Missing);

/// <summary>
/// Places each host's run onto the capture's bins by absolute time. Pure.
/// <para>
/// Run bin i covers TAI [run.start + i·w, run.start + (i+1)·w); capture bin j covers [start + j·w, …). So run bin i is
/// capture bin i + (run.start − start)/w. The coordinator asks every agent for the capture's own start, so the offset
/// is 0 in practice; placing by time rather than by index keeps a run that an agent started elsewhere from being
/// silently misaligned. Only bins the agent recorded count (a run cut short covers fewer), and bins outside the
/// capture are dropped.
/// </para>
/// </summary>
internal static class RunMerger
{
    /// <param name="captureStartTaiNs">Start of capture bin 0, TAI ns.</param>
    /// <param name="binWidthNs">Bin width of the capture, ns.</param>
    /// <param name="bins">Bins in the capture.</param>
    /// <param name="requestedHosts">Hosts the capture asked for.</param>
    /// <param name="runs">Runs returned, at most one per host; <see cref="Run.Host"/> names the host.</param>
    public static MergedCapture Merge(long captureStartTaiNs, long binWidthNs, int bins,
        IReadOnlyCollection<string> requestedHosts, IEnumerable<Run> runs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(binWidthNs);
        ArgumentOutOfRangeException.ThrowIfNegative(bins);

        var requested = new HashSet<string>(requestedHosts, StringComparer.Ordinal);
        var placed = new SortedDictionary<string, MergedHost>(StringComparer.Ordinal);
        var rejected = new List<RejectedRun>();
        foreach (Run run in runs)
        {
            if (!requested.Contains(run.Host))
            {
                rejected.Add(new RejectedRun(run.Host, "host is not part of the capture"));
                continue;
            }

            if (placed.ContainsKey(run.Host))
            {
                rejected.Add(new RejectedRun(run.Host, "a second run for the same host"));
                continue;
            }

            if (run.BinWidthNs != binWidthNs)
            {
                rejected.Add(new RejectedRun(run.Host, $"run has bins of {run.BinWidthNs} ns; the capture uses {binWidthNs} ns"));
                continue;
            }

            long delta = run.StartTaiNs - captureStartTaiNs;
            if (delta % binWidthNs != 0)
            {
                rejected.Add(new RejectedRun(run.Host,
                    $"run starts at TAI {run.StartTaiNs} ns, {delta} ns from the capture's start: not on its grid of {binWidthNs} ns bins"));
                continue;
            }

            placed.Add(run.Host, Place(run, delta / binWidthNs, bins));
        }

        var missing = requested.Where(h => !placed.ContainsKey(h) && !rejected.Any(r => r.Host == h))
            .Order(StringComparer.Ordinal).ToList();
        return new MergedCapture([.. placed.Values], rejected, missing);
    }

    private static MergedHost Place(Run run, long offset, int bins)
    {
        RunSeries series = run.Series ?? new RunSeries();

        // A run records at most its own bins; a series shorter than bins_recorded caps what counts as recorded.
        long recorded = Math.Min(Math.Min(run.BinsRecorded, run.Bins), series.IngressBytes.Count);
        long first = Math.Clamp(offset, 0, bins);
        long end = Math.Clamp(offset + recorded, 0, bins);
        int covered = (int)Math.Max(0, end - first);

        var ingress = new ulong[bins];
        var ce = new ulong[bins];
        var retransmit = new ulong[bins];
        var connections = new uint[bins];
        ulong[]? egress = series.EgressBytes.Count > 0 ? new ulong[bins] : null;
        ulong[]? crossRegion = series.IngressCrossRegionBytes.Count > 0 ? new ulong[bins] : null;
        for (long j = first; j < first + covered; j++)
        {
            int i = (int)(j - offset);
            ingress[j] = series.IngressBytes[i];
            ce[j] = i < series.IngressCeBytes.Count ? series.IngressCeBytes[i] : 0;
            retransmit[j] = i < series.IngressRetransmitBytes.Count ? series.IngressRetransmitBytes[i] : 0;
            connections[j] = i < series.IngressConnections.Count ? series.IngressConnections[i] : 0;
            if (egress is not null && i < series.EgressBytes.Count)
            {
                egress[j] = series.EgressBytes[i];
            }

            if (crossRegion is not null && i < series.IngressCrossRegionBytes.Count)
            {
                crossRegion[j] = series.IngressCrossRegionBytes[i];
            }
        }

        return new MergedHost(run.Host, covered == 0 ? 0 : (int)first, covered, ingress, ce, retransmit, connections, run,
            egress, crossRegion);
    }
}
