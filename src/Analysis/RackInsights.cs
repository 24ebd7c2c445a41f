namespace Millisampler.Analysis;

/// <summary>
/// What a rack analysis adds on top of bursts and events: incidents, ingress stalls and cross-region interplay.
/// Definitions and defaults: docs/analysis.md ("Incidents", "Ingress stalls", "Cross-region interplay").
/// </summary>
/// <param name="IncidentGapBins">g in bins: events whose gap is shorter than this join one incident.</param>
/// <param name="Incidents">Incidents, sorted by start bin; every event belongs to exactly one.</param>
/// <param name="Stalls">Ingress stalls, sorted by host (ordinal), then start bin.</param>
/// <param name="BurstCrossRegionShare">Per burst of <see cref="RackAnalysis.Bursts"/> (same index): cross-region
/// share of its ingress bytes in [0, 1]; null when the host has no cross-region series.</param>
/// <param name="CrossRegionLevels">One row per contention level of <see cref="RackAnalysis.ContentionLevels"/>.</param>
public sealed record RackInsights(
    int IncidentGapBins,
    IReadOnlyList<IncidentInfo> Incidents,
    IReadOnlyList<IngressStallInfo> Stalls,
    IReadOnlyList<double?> BurstCrossRegionShare,
    IReadOnlyList<CrossRegionLevelInfo> CrossRegionLevels);

/// <summary>Synchronized events closer than the gap g, taken as one incident.</summary>
/// <param name="StartBin">Start of its first event.</param>
/// <param name="LengthBins">From its first event's start to its last event's end (gaps included).</param>
/// <param name="EventIndices">Indices into <see cref="RackAnalysis.Events"/>, ascending.</param>
/// <param name="Hosts">Hosts of any of its events, sorted (ordinal).</param>
/// <param name="Bytes">Sum of its events' bytes.</param>
/// <param name="CeBytes">Sum of its events' CE bytes.</param>
/// <param name="RetransmitBytes">Sum of its events' retransmitted bytes.</param>
/// <param name="PeakContention">Largest c[b] of its events.</param>
public sealed record IncidentInfo(
    int StartBin,
    int LengthBins,
    IReadOnlyList<int> EventIndices,
    IReadOnlyList<string> Hosts,
    ulong Bytes,
    ulong CeBytes,
    ulong RetransmitBytes,
    int PeakContention);

/// <summary>A run of bins in which a host received nothing while traffic surrounded it and it kept sending.</summary>
/// <param name="Host">Host name.</param>
/// <param name="StartBin">First zero-ingress bin.</param>
/// <param name="LengthBins">Zero-ingress bins in the run.</param>
/// <param name="IngressBytesAround">Mean ingress bytes per bin over the context bins before and after.</param>
/// <param name="EgressBytes">Bytes the host sent during the stall.</param>
public sealed record IngressStallInfo(
    string Host,
    int StartBin,
    int LengthBins,
    double IngressBytesAround,
    ulong EgressBytes);

/// <summary>Per contention level (a burst's maximum contention met), long-RTT against short-RTT bursts.</summary>
/// <param name="Level">Other hosts met, as <see cref="ContentionLevelInfo.Level"/> for bursts.</param>
/// <param name="LongRttBursts">Bursts at this level with cross-region share ≥ the long-RTT cut.</param>
/// <param name="LongRttBurstsWithCe">Of those, bursts with a CE-marked byte.</param>
/// <param name="LongRttBurstsWithRetransmits">Of those, bursts with a retransmitted byte.</param>
/// <param name="ShortRttBursts">Bursts at this level with a known share below the cut.</param>
/// <param name="ShortRttBurstsWithCe">Of those, bursts with a CE-marked byte.</param>
/// <param name="ShortRttBurstsWithRetransmits">Of those, bursts with a retransmitted byte.</param>
/// <param name="MeanCrossRegionShare">Mean share over the level's bursts with a known share; 0 when none.</param>
public sealed record CrossRegionLevelInfo(
    int Level,
    int LongRttBursts,
    int LongRttBurstsWithCe,
    int LongRttBurstsWithRetransmits,
    int ShortRttBursts,
    int ShortRttBurstsWithCe,
    int ShortRttBurstsWithRetransmits,
    double MeanCrossRegionShare);

/// <summary>Thresholds of <see cref="RackInsightsAnalyzer"/>. Defaults and their reasons: docs/analysis.md.</summary>
/// <param name="IncidentGapNs">g: events separated by fewer than g of time (whole bins, at least one) form one incident.</param>
/// <param name="StallContextBins">L: bins on each side of a zero-ingress run that must all be busy.</param>
/// <param name="StallBusyUtilization">A context bin is busy when ingress utilization ≥ this.</param>
/// <param name="LongRttShare">A burst is long-RTT when at least this share of its bytes is cross-region.</param>
public sealed record InsightOptions(
    long IncidentGapNs = 5_000_000,
    int StallContextBins = 3,
    double StallBusyUtilization = 0.05,
    double LongRttShare = 0.5)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the field and its allowed range.</summary>
    public void Validate()
    {
        if (IncidentGapNs < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(IncidentGapNs), IncidentGapNs, "IncidentGapNs must be ≥ 0 ns.");
        }

        if (StallContextBins < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(StallContextBins), StallContextBins, "StallContextBins must be ≥ 1.");
        }

        if (!(StallBusyUtilization > 0 && StallBusyUtilization <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(StallBusyUtilization), StallBusyUtilization,
                "StallBusyUtilization must be in (0, 1] (a fraction of link speed).");
        }

        if (!(LongRttShare > 0 && LongRttShare <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(LongRttShare), LongRttShare, "LongRttShare must be in (0, 1].");
        }
    }

    /// <summary>g in bins: ⌈g / w⌉, at least 1 (a gap is never shorter than one bin, so 1 joins nothing).</summary>
    public int IncidentGapBins(long binWidthNs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(binWidthNs);
        long bins = (IncidentGapNs + binWidthNs - 1) / binWidthNs;
        return (int)Math.Clamp(bins, 1, int.MaxValue);
    }
}

/// <summary>Incidents, ingress stalls and cross-region interplay of a rack capture. Pure.</summary>
public static class RackInsightsAnalyzer
{
    /// <summary>Adds incidents, stalls and cross-region interplay to <paramref name="analysis"/>.</summary>
    /// <param name="hosts">The series <paramref name="analysis"/> was made from.</param>
    /// <param name="analysis">The result of <see cref="RackAnalyzer.Analyze"/> on <paramref name="hosts"/>.</param>
    /// <param name="options">g, the stall context and the long-RTT cut.</param>
    public static RackInsights Analyze(IReadOnlyList<HostSeries> hosts, RackAnalysis analysis, InsightOptions options)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        int gapBins = options.IncidentGapBins(analysis.BinWidthNs);
        var byName = new Dictionary<string, HostSeries>(StringComparer.Ordinal);
        foreach (HostSeries h in hosts)
        {
            byName[h.Host] = h;
        }

        var stalls = new List<IngressStallInfo>();
        foreach (HostSeries h in hosts.OrderBy(h => h.Host, StringComparer.Ordinal))
        {
            stalls.AddRange(FindStalls(h, analysis.BinWidthNs, options.StallContextBins, options.StallBusyUtilization));
        }

        double?[] shares = new double?[analysis.Bursts.Count];
        for (int i = 0; i < shares.Length; i++)
        {
            BurstInfo b = analysis.Bursts[i];
            shares[i] = byName.TryGetValue(b.Host, out HostSeries? s) ? CrossRegionShare(s, b) : null;
        }

        return new RackInsights(gapBins, GroupIncidents(analysis.Events, gapBins), stalls, shares,
            CrossRegionLevels(analysis, shares, options.LongRttShare));
    }

    /// <summary>
    /// Groups events into incidents: an event whose start is fewer than <paramref name="gapBins"/> bins after the
    /// previous event's end joins that event's incident.
    /// </summary>
    /// <param name="events">Events sorted by start bin, as <see cref="RackAnalysis.Events"/>.</param>
    /// <param name="gapBins">g in bins, ≥ 1.</param>
    public static IReadOnlyList<IncidentInfo> GroupIncidents(IReadOnlyList<SyncEventInfo> events, int gapBins)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfLessThan(gapBins, 1);
        var incidents = new List<IncidentInfo>();
        int i = 0;
        while (i < events.Count)
        {
            int first = i;
            int end = events[i].StartBin + events[i].LengthBins;
            while (i + 1 < events.Count && events[i + 1].StartBin - end < gapBins)
            {
                i++;
                end = Math.Max(end, events[i].StartBin + events[i].LengthBins);
            }

            var hosts = new SortedSet<string>(StringComparer.Ordinal);
            var indices = new int[i - first + 1];
            ulong bytes = 0, ce = 0, retransmit = 0;
            int peak = 0;
            for (int j = first; j <= i; j++)
            {
                SyncEventInfo e = events[j];
                indices[j - first] = j;
                hosts.UnionWith(e.Hosts);
                bytes += e.Bytes;
                ce += e.CeBytes;
                retransmit += e.RetransmitBytes;
                peak = Math.Max(peak, e.PeakContention);
            }

            int start = events[first].StartBin;
            incidents.Add(new IncidentInfo(start, end - start, indices, [.. hosts], bytes, ce, retransmit, peak));
            i++;
        }

        return incidents;
    }

    /// <summary>
    /// One host's ingress stalls: maximal runs of covered bins with zero ingress bytes such that the
    /// <paramref name="contextBins"/> bins before and after all lie inside the covered bins with ingress utilization
    /// ≥ <paramref name="busyUtilization"/>, and the host sent bytes in at least half (rounded up) of the run's bins.
    /// A host without an egress series has none.
    /// </summary>
    public static IReadOnlyList<IngressStallInfo> FindStalls(HostSeries host, long binWidthNs, int contextBins, double busyUtilization)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(binWidthNs);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextBins, 1);
        var stalls = new List<IngressStallInfo>();
        ulong[]? egress = host.EgressBytes;
        if (egress is null || !(host.LinkSpeedBitsPerSecond > 0))
        {
            return stalls;
        }

        ulong[] ingress = host.IngressBytes;
        int covered = Math.Min(host.BinsCovered, Math.Min(ingress.Length, egress.Length));
        double busyBytes = busyUtilization * host.LinkSpeedBitsPerSecond * binWidthNs / 8e9;
        int b = contextBins;
        while (b < covered - contextBins)
        {
            if (ingress[b] != 0)
            {
                b++;
                continue;
            }

            int start = b;
            while (b < covered && ingress[b] == 0)
            {
                b++;
            }

            int end = b;
            if (end + contextBins > covered || start - contextBins < 0)
            {
                continue;
            }

            double around = 0;
            bool busy = true;
            for (int k = 1; k <= contextBins && busy; k++)
            {
                busy = ingress[start - k] >= busyBytes && ingress[end + k - 1] >= busyBytes;
                around += ingress[start - k] + (double)ingress[end + k - 1];
            }

            // The run before start is busy, so a run starting inside the first context bins was never entered here.
            if (!busy || ingress[start - 1] == 0)
            {
                continue;
            }

            int sending = 0;
            ulong sent = 0;
            for (int k = start; k < end; k++)
            {
                sent += egress[k];
                if (egress[k] > 0)
                {
                    sending++;
                }
            }

            if (2 * sending >= end - start)
            {
                stalls.Add(new IngressStallInfo(host.Host, start, end - start, around / (2 * contextBins), sent));
            }
        }

        return stalls;
    }

    private static double? CrossRegionShare(HostSeries s, BurstInfo b)
    {
        if (s.IngressCrossRegionBytes is not { } cross || b.Bytes == 0)
        {
            return null;
        }

        ulong sum = 0;
        int end = Math.Min(b.StartBin + b.LengthBins, cross.Length);
        for (int i = b.StartBin; i < end; i++)
        {
            sum += cross[i];
        }

        // The cross-region series counts a subset of the same bytes; clamp the odd per-bin excess.
        return Math.Min(1.0, (double)sum / b.Bytes);
    }

    private static CrossRegionLevelInfo[] CrossRegionLevels(RackAnalysis analysis, double?[] shares, double longShare)
    {
        int levels = analysis.ContentionLevels.Count;
        var rows = new (int Long, int LongCe, int LongRx, int Short, int ShortCe, int ShortRx, double Sum, int Known)[levels];
        for (int i = 0; i < shares.Length; i++)
        {
            if (shares[i] is not { } share)
            {
                continue;
            }

            BurstInfo b = analysis.Bursts[i];
            if (b.MaxContention >= levels)
            {
                continue;
            }

            ref var r = ref rows[b.MaxContention];
            r.Sum += share;
            r.Known++;
            if (share >= longShare)
            {
                r.Long++;
                r.LongCe += b.CeBytes > 0 ? 1 : 0;
                r.LongRx += b.RetransmitBytes > 0 ? 1 : 0;
            }
            else
            {
                r.Short++;
                r.ShortCe += b.CeBytes > 0 ? 1 : 0;
                r.ShortRx += b.RetransmitBytes > 0 ? 1 : 0;
            }
        }

        var result = new CrossRegionLevelInfo[levels];
        for (int level = 0; level < levels; level++)
        {
            var r = rows[level];
            result[level] = new CrossRegionLevelInfo(level, r.Long, r.LongCe, r.LongRx, r.Short, r.ShortCe, r.ShortRx,
                r.Known == 0 ? 0 : r.Sum / r.Known);
        }

        return result;
    }
}
